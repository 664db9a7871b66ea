using System.Globalization;
using Gpt2.Model;

namespace Gpt2.Training;

/// <summary>One checkpoint: the model file and the training state of the same step.</summary>
/// <param name="Step">Steps completed when it was written.</param>
/// <param name="ModelPath">The llm.c model file, <c>model_STEP.bin</c>.</param>
/// <param name="StatePath">The training state, <c>state_STEP.bin</c>.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record Checkpoint(int Step, string ModelPath, string StatePath);

/// <summary>
/// The checkpoints of a run in one folder: <c>model_STEP.bin</c> beside <c>state_STEP.bin</c> (8-digit step). A
/// checkpoint is complete when both files exist; each is written atomically, the model first and then the state that
/// records the model's SHA-256, so the state is the commit: a model without its state is an interrupted checkpoint,
/// and a state is never paired with another run's model. Stateless; safe to use from several threads, but only one
/// run may write into a folder at a time (the trainer holds <c>.lock</c>).
/// </summary>
/// <param name="directory">The folder.</param>
public sealed class CheckpointFolder(string directory)
{
    private const string ModelPrefix = "model_", StatePrefix = "state_", Extension = ".bin";

    /// <summary>The folder.</summary>
    public string Directory { get; } = directory ?? throw new ArgumentNullException(nameof(directory));

    /// <summary>The paths of the checkpoint of a step.</summary>
    /// <param name="step">Steps completed.</param>
    /// <returns>The checkpoint's paths (the files may not exist).</returns>
    public Checkpoint At(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        string name = step.ToString("D8", CultureInfo.InvariantCulture) + Extension;
        return new Checkpoint(step, Path.Combine(Directory, ModelPrefix + name), Path.Combine(Directory, StatePrefix + name));
    }

    /// <summary>The newest complete checkpoint, or null when there is none (or no folder).</summary>
    /// <returns>The checkpoint.</returns>
    public Checkpoint? FindLatest() => FindAll().LastOrDefault();

    /// <summary>Every complete checkpoint, oldest first.</summary>
    /// <returns>The checkpoints.</returns>
    public IReadOnlyList<Checkpoint> FindAll()
    {
        var all = new List<Checkpoint>();
        foreach (var (step, path) in Numbered(StatePrefix))
        {
            if (At(step) is var candidate && candidate.StatePath == path && File.Exists(candidate.ModelPath))
            {
                all.Add(candidate);
            }
        }

        all.Sort((a, b) => a.Step.CompareTo(b.Step));
        return all;
    }

    /// <summary>
    /// Deletes what interrupted writes leave behind: the hidden temporary files of atomic writes and model files
    /// whose state was never written.
    /// </summary>
    /// <returns>The deleted files.</returns>
    public IReadOnlyList<string> CleanUp()
    {
        var deleted = new List<string>();
        if (!System.IO.Directory.Exists(Directory))
        {
            return deleted;
        }

        foreach (string temp in System.IO.Directory.GetFiles(Directory, ".*.tmp"))
        {
            File.Delete(temp);
            deleted.Add(temp);
        }

        foreach (var (step, path) in Numbered(ModelPrefix))
        {
            if (At(step).ModelPath == path && !File.Exists(At(step).StatePath))
            {
                File.Delete(path);
                deleted.Add(path);
            }
        }

        return deleted;
    }

    /// <summary>
    /// llm.c's checkpoint retention (<c>-nk</c>, <c>-nm</c>): keeps the newest <paramref name="keep"/> checkpoints and
    /// every one whose step is a multiple of <paramref name="majorEvery"/>, deleting the rest (state first).
    /// </summary>
    /// <param name="keep">Checkpoints to keep; 0 keeps all.</param>
    /// <param name="majorEvery">Steps between checkpoints kept forever; 0 for none.</param>
    /// <returns>The deleted checkpoints.</returns>
    public IReadOnlyList<Checkpoint> Prune(int keep, int majorEvery)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(keep);
        ArgumentOutOfRangeException.ThrowIfNegative(majorEvery);
        var all = FindAll();
        var deleted = new List<Checkpoint>();
        if (keep == 0)
        {
            return deleted;
        }

        foreach (var c in all.Take(Math.Max(0, all.Count - keep)))
        {
            if (majorEvery > 0 && c.Step % majorEvery == 0)
            {
                continue;
            }

            File.Delete(c.StatePath);
            File.Delete(c.ModelPath);
            deleted.Add(c);
        }

        return deleted;
    }

    /// <summary>Writes the checkpoint of a step: the model, then the state recording the model's SHA-256.</summary>
    /// <returns>The checkpoint, or null (nothing written) when a parameter is not finite; <paramref name="nonFinite"/> names it.</returns>
    internal Checkpoint? Write(Gpt2Model model, TrainingState state, out string? nonFinite)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var checkpoint = At(state.Step);
        if (model.SaveChecked(checkpoint.ModelPath, out nonFinite) is not { } sha256)
        {
            return null;
        }

        state.WithModelSha256(sha256).Write(checkpoint.StatePath);
        return checkpoint;
    }

    private IEnumerable<(int Step, string Path)> Numbered(string prefix)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            yield break;
        }

        foreach (string path in System.IO.Directory.GetFiles(Directory, prefix + "*" + Extension))
        {
            string digits = Path.GetFileName(path)[prefix.Length..^Extension.Length];
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int step))
            {
                yield return (step, path);
            }
        }
    }
}
