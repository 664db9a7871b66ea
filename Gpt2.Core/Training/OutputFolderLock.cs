using System.Globalization;

namespace Gpt2.Training;

/// <summary>
/// One run per output folder: an exclusive lock on <c>.lock</c> in the folder (an advisory file lock, released by the
/// operating system when the process dies, so a killed run never leaves the folder locked), with the holder's pid,
/// host and start time in <c>.lock.owner</c> for the message a second run gets.
/// </summary>
internal sealed class OutputFolderLock : IDisposable
{
    private readonly FileStream _lock;
    private readonly string _owner;

    private OutputFolderLock(FileStream lockFile, string owner)
    {
        _lock = lockFile;
        _owner = owner;
    }

    /// <summary>Takes the folder's lock (creating the folder), or throws naming the run that holds it.</summary>
    /// <exception cref="IOException">Another run holds the folder.</exception>
    public static OutputFolderLock Acquire(string directory)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, ".lock"), owner = path + ".owner";
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            string holder = "another process";
            try
            {
                holder = File.ReadAllText(owner).Trim();
            }
            catch (IOException)
            {
            }

            throw new IOException($"{directory} is in use by another training run ({holder}); one run writes into a folder at a time.");
        }

        File.WriteAllText(owner, string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on {Environment.MachineName}, since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC"));
        return new OutputFolderLock(file, owner);
    }

    public void Dispose()
    {
        File.Delete(_owner);
        _lock.Dispose();
    }
}
