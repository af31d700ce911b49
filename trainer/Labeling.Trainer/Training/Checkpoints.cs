using Labeling.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Training;

/// <summary>
/// Checkpoints in a folder: the weights, the optimiser's state and the step, written to temporary
/// names and renamed, so a run killed mid-write leaves the previous checkpoint intact.
/// </summary>
public static class Checkpoints
{
    private const string WeightsFile = "model.weights";
    private const string OptimizerFile = "optimizer.state";
    private const string StepFile = "step.txt";

    public static void Save(string folder, OpenVocabularyDetector model, AdamW optimizer, int step)
    {
        Directory.CreateDirectory(folder);
        model.save(Path.Combine(folder, WeightsFile + ".tmp"));
        optimizer.Save(Path.Combine(folder, OptimizerFile + ".tmp"));
        File.WriteAllText(Path.Combine(folder, StepFile + ".tmp"), step.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // The step file moves last: it is what says a checkpoint is complete.
        File.Move(Path.Combine(folder, WeightsFile + ".tmp"), Path.Combine(folder, WeightsFile), overwrite: true);
        File.Move(Path.Combine(folder, OptimizerFile + ".tmp"), Path.Combine(folder, OptimizerFile), overwrite: true);
        File.Move(Path.Combine(folder, StepFile + ".tmp"), Path.Combine(folder, StepFile), overwrite: true);
    }

    /// <summary>Loads the checkpoint in <paramref name="folder"/> when there is a complete one; returns its step (0 when none).</summary>
    public static int TryResume(string? folder, OpenVocabularyDetector model, AdamW optimizer)
    {
        if (folder is null || !File.Exists(Path.Combine(folder, StepFile)))
        {
            return 0;
        }

        model.load(Path.Combine(folder, WeightsFile));
        optimizer.Load(Path.Combine(folder, OptimizerFile));
        return int.Parse(File.ReadAllText(Path.Combine(folder, StepFile)), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Loads weights only (a warm start from a previous run's checkpoint or model weights file).</summary>
    public static void LoadWeights(string weightsFile, OpenVocabularyDetector model) => model.load(weightsFile);
}
