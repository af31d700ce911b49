namespace Labeling.Trainer.Losses;

/// <summary>
/// Weights and temperatures of the detector's training losses. The total is
/// HeatmapWeight·heatmap focal + GiouWeight·proposal GIoU + BoxWeight·box refinement
/// + (ScaleDet hard + SoftWeight·ScaleDet soft) on boxed images + DeticWeight·image label on tag-only images.
/// </summary>
public sealed record LossWeights
{
    /// <summary>Weight of <see cref="ProposalLosses.FocalHeatmap"/>; 1, CenterNet2's heatmap weight.</summary>
    public float HeatmapWeight { get; init; } = 1f;

    /// <summary>Weight of the proposals' <see cref="ProposalLosses.GIoU"/>; 2, CenterNet2's regression weight.</summary>
    public float GiouWeight { get; init; } = 2f;

    /// <summary>Weight of the box head's <see cref="ProposalLosses.BoxRefinement"/>; 1, as in Faster R-CNN.</summary>
    public float BoxWeight { get; init; } = 1f;

    /// <summary>
    /// Temperature τ of ScaleDet's scores sigmoid(cos/τ). 0.07 (CLIP's initial temperature, logit scale ≈ 14.3):
    /// cosines in [−1,1] then span logits ±14.3, so the hard targets 0 and 1 are reachable (σ(±14.3) is within 1e−6
    /// of them) while the soft targets in between stay on the sigmoid's slope. τ = 1 would cap the scores at
    /// σ(±1) ≈ 0.27…0.73; τ = 0.01 would saturate the sigmoid and starve the soft loss of gradient.
    /// </summary>
    public float ScaleDetTau { get; init; } = 0.07f;

    /// <summary>
    /// Weight λ of ScaleDet's soft (label-similarity) loss against its hard loss. 0.5 keeps the hard labels in charge:
    /// the soft loss only shapes the scores of related classes. Not tuned; a starting point for validation.
    /// </summary>
    public float SoftWeight { get; init; } = 0.5f;

    /// <summary>Weight of Detic's <see cref="DeticLoss.ImageLabel"/> on tag-only images; 0.1, Detic's.</summary>
    public float DeticWeight { get; init; } = 0.1f;
}
