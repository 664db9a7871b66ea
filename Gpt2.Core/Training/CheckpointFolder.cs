using System.Globalization;
using Gpt2.Model;

namespace Gpt2.Training;

/// <summary>One checkpoint: the model file and the training state of the same step.</summary>
/// <param name="Step">Steps completed when it was written.</param>
/// <param name="ModelPath">The llm.c model file, <c>model_STEP.bin</c>.</param>
/// <param name="StatePath">The training state, <c>state_STEP.bin</c>.</param>
public sealed record Checkpoint(int Step, string ModelPath, string StatePath);

/// <summary>
/// The checkpoints of a run in one folder: <c>model_STEP.bin</c> beside <c>state_STEP.bin</c> (8-digit step). A
/// checkpoint is complete when both files exist; each is written atomically and the state first, so a model file
/// without its state is never taken for one. Stateless; safe to use from several threads.
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
    public Checkpoint? FindLatest()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return null;
        }

        Checkpoint? latest = null;
        foreach (string state in System.IO.Directory.GetFiles(Directory, StatePrefix + "*" + Extension))
        {
            string digits = Path.GetFileName(state)[StatePrefix.Length..^Extension.Length];
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int step) && (latest is null || step > latest.Step)
                && At(step) is var candidate && candidate.StatePath == state && File.Exists(candidate.ModelPath))
            {
                latest = candidate;
            }
        }

        return latest;
    }

    /// <summary>Writes the checkpoint of a step: the state, then the model, each atomically.</summary>
    internal Checkpoint Write(Gpt2Model model, TrainingState state)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var checkpoint = At(state.Step);
        state.Write(checkpoint.StatePath);
        model.Save(checkpoint.ModelPath);
        return checkpoint;
    }
}
