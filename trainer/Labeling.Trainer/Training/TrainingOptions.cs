namespace Labeling.Trainer.Training;

/// <summary>How a training run goes. Bound from the <c>Trainer</c> section or built by <c>labeling train</c>.</summary>
public sealed record TrainingOptions
{
    public const string Section = "Trainer";

    /// <summary>Optimiser steps of the run (a resumed run continues to this total).</summary>
    public int Steps { get; init; } = 2000;

    /// <summary>Images per step (box and tag-only images mixed).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>AdamW peak learning rate, reached after <see cref="WarmupSteps"/>, then cosine to zero.</summary>
    public float LearningRate { get; init; } = 2e-3f;

    public float WeightDecay { get; init; } = 1e-4f;

    public int WarmupSteps { get; init; } = 100;

    /// <summary>Gradients are clipped to this global L2 norm.</summary>
    public float GradientClipNorm { get; init; } = 10f;

    /// <summary>Seeds libtorch and the data order: two runs with the same seed on CPU give the same weights.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>libtorch intra-op threads.</summary>
    public int Threads { get; init; } = 1;

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>auto</c>.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Write a checkpoint every this many steps (and at the end) when <see cref="CheckpointFolder"/> is set.</summary>
    public int CheckpointEvery { get; init; } = 250;

    /// <summary>Where checkpoints go; a run started with an existing checkpoint there resumes from it.</summary>
    public string? CheckpointFolder { get; init; }

    /// <summary>Report progress every this many steps.</summary>
    public int ReportEvery { get; init; } = 10;

    /// <summary>A proposal whose IoU with a ground-truth box reaches this is that box's class.</summary>
    public float PositiveIou { get; init; } = 0.5f;

    /// <summary>A proposal whose best IoU is below this is background; between the two it is ignored.</summary>
    public float NegativeIou { get; init; } = 0.4f;

    /// <summary>ScaleDet: weight λ of the soft label assignment loss.</summary>
    public float SoftWeight { get; init; } = 0.5f;

    /// <summary>Detic: which proposal of a tag-only image learns its tags (default the largest, Detic's choice).</summary>
    public DeticProposal DeticProposal { get; init; } = DeticProposal.Largest;

    /// <summary>Detic: weight of the image-label loss on tag-only images.</summary>
    public float DeticWeight { get; init; } = 0.1f;

    public float HeatmapWeight { get; init; } = 1f;

    public float GiouWeight { get; init; } = 2f;

    public float RefinementWeight { get; init; } = 1f;

    public float ClassificationWeight { get; init; } = 1f;

    /// <summary>Throws with the setting's name when a value cannot work.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }

        Require(Steps >= 1, "Trainer:Steps must be at least 1.");
        Require(BatchSize >= 1, "Trainer:BatchSize must be at least 1.");
        Require(LearningRate > 0 && float.IsFinite(LearningRate), "Trainer:LearningRate must be positive.");
        Require(WarmupSteps >= 0, "Trainer:WarmupSteps must not be negative.");
        Require(Threads >= 1, "Trainer:Threads must be at least 1.");
        Require(NegativeIou <= PositiveIou, "Trainer:NegativeIou must not exceed PositiveIou.");
        Require(CheckpointEvery >= 1 && ReportEvery >= 1, "Trainer:CheckpointEvery and ReportEvery must be at least 1.");
    }
}

/// <summary>Which proposal stands for a tag-only image in Detic's image-label loss.</summary>
public enum DeticProposal
{
    /// <summary>The largest by area (Detic's max-size loss).</summary>
    Largest,

    /// <summary>The one the proposal head scores highest (the WSOD-style alternative Detic compares against).</summary>
    HighestObjectness,
}

/// <summary>What a host shows while training: step, speed, the loss and its parts, skipped steps, learning rate.</summary>
public sealed record TrainingProgress(
    int Step,
    int Steps,
    double StepsPerSecond,
    float Loss,
    IReadOnlyDictionary<string, float> Parts,
    int SkippedSteps,
    float LearningRate);
