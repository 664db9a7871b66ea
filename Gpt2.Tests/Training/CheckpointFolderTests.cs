using Gpt2.Training;

namespace Gpt2.Tests.Training;

public sealed class CheckpointFolderTests : TempDirectoryTest
{
    [Test]
    public void TheNewestCompletePairIsFound()
    {
        var folder = new CheckpointFolder(TempDir);
        Assert.That(folder.FindLatest(), Is.Null);
        foreach (int step in new[] { 9, 120 })
        {
            File.WriteAllText(folder.At(step).ModelPath, "");
            File.WriteAllText(folder.At(step).StatePath, "");
        }

        File.WriteAllText(folder.At(200).ModelPath, ""); // a model without its state is not a checkpoint
        File.WriteAllText(Path.Combine(TempDir, "state_junk.bin"), "");
        var latest = folder.FindLatest();
        Assert.That(latest?.Step, Is.EqualTo(120));
        Assert.That(Path.GetFileName(latest!.StatePath), Is.EqualTo("state_00000120.bin"));
        Assert.That(new CheckpointFolder(Path.Combine(TempDir, "missing")).FindLatest(), Is.Null);
    }
}
