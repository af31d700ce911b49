using System.Globalization;
using Labeling.Trainer.Model;

namespace Labeling.Trainer.Training;

/// <summary>
/// Checkpoints in a folder: the weights and the optimiser's state of a step in files named after that step, then
/// <c>step.txt</c> naming it, replaced by a rename. A run killed at any point leaves <c>step.txt</c> naming a
/// complete pair (the one before, or the new one), never new weights with an old optimiser state; older pairs are
/// deleted once the new one is named.
/// </summary>
public static class Checkpoints
{
    private const string StepFile = "step.txt";

    private static string WeightsFile(int step) => $"model-{step.ToString("D8", CultureInfo.InvariantCulture)}.weights";

    private static string OptimizerFile(int step) => $"optimizer-{step.ToString("D8", CultureInfo.InvariantCulture)}.state";

    public static void Save(string folder, OpenVocabularyDetector model, AdamW optimizer, int step)
    {
        Directory.CreateDirectory(folder);
        model.save(Path.Combine(folder, WeightsFile(step)));
        optimizer.Save(Path.Combine(folder, OptimizerFile(step)));
        var stepPath = Path.Combine(folder, StepFile);
        File.WriteAllText(stepPath + ".tmp", step.ToString(CultureInfo.InvariantCulture));
        File.Move(stepPath + ".tmp", stepPath, overwrite: true); // the commit point
        foreach (var stale in Directory.EnumerateFiles(folder, "model-*.weights").Concat(Directory.EnumerateFiles(folder, "optimizer-*.state")))
        {
            var name = Path.GetFileName(stale);
            if (name != WeightsFile(step) && name != OptimizerFile(step))
            {
                File.Delete(stale);
            }
        }
    }

    /// <summary>The step of the checkpoint in <paramref name="folder"/> (what <see cref="TryResume"/> would resume from), or null when there is none.</summary>
    public static int? LastStep(string folder)
    {
        var path = Path.Combine(folder, StepFile);
        return File.Exists(path) && int.TryParse(File.ReadAllText(path), NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : null;
    }

    /// <summary>Loads the checkpoint <c>step.txt</c> names in <paramref name="folder"/>; returns its step (0 when there is none).</summary>
    /// <exception cref="InvalidDataException"><c>step.txt</c> names a step whose files are missing.</exception>
    public static int TryResume(string? folder, OpenVocabularyDetector model, AdamW optimizer)
    {
        if (folder is null || !File.Exists(Path.Combine(folder, StepFile)))
        {
            return 0;
        }

        var step = int.Parse(File.ReadAllText(Path.Combine(folder, StepFile)), CultureInfo.InvariantCulture);
        var weights = Path.Combine(folder, WeightsFile(step));
        var state = Path.Combine(folder, OptimizerFile(step));
        if (!File.Exists(weights) || !File.Exists(state))
        {
            throw new InvalidDataException($"Checkpoint folder {folder} names step {step}, but its files are missing.");
        }

        model.load(weights);
        optimizer.Load(state);
        return step;
    }

    /// <summary>Loads weights only (a warm start from a previous run's checkpoint or model weights file).</summary>
    public static void LoadWeights(string weightsFile, OpenVocabularyDetector model) => model.load(weightsFile);
}
