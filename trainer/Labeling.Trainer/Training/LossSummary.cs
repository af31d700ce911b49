using System.Globalization;

namespace Labeling.Trainer.Training;

/// <summary>
/// How the loss went, in a form that reads right: an exponential moving average (≈ the last
/// <see cref="LossSmoother.Window"/> applied steps) after the first window and at the end, and the
/// first batch on its own with what it held. A raw first loss misleads: a tag-only first batch has
/// only the image-label loss (weight 0.1) and is far lower than any box batch, so "0.468 → 5.016"
/// looked like a regression.
/// </summary>
/// <param name="FirstBatchLoss">The loss of the first applied step.</param>
/// <param name="FirstBatchBoxImages">Images with boxes in that batch.</param>
/// <param name="FirstBatchTagOnlyImages">Tag-only images in that batch.</param>
/// <param name="SmoothedFirst">The moving average at <paramref name="SmoothedFirstStep"/>.</param>
/// <param name="SmoothedFirstStep">The step of the first full window (or the last step of a shorter run).</param>
/// <param name="SmoothedLast">The moving average at the last applied step (NaN when no step was applied).</param>
/// <param name="SmoothedLastStep">The last applied step.</param>
public sealed record LossSummary(
    float FirstBatchLoss, int FirstBatchBoxImages, int FirstBatchTagOnlyImages,
    float SmoothedFirst, int SmoothedFirstStep, float SmoothedLast, int SmoothedLastStep)
{
    /// <summary>One line for people: <c>loss (moving average) 4.512 at step 10 → 1.203 at step 60; first batch: …</c>.</summary>
    public string Describe()
    {
        if (float.IsNaN(SmoothedLast))
        {
            return "loss: no step was applied";
        }

        var mix = FirstBatchTagOnlyImages == 0 ? $"{FirstBatchBoxImages} box image(s)"
            : FirstBatchBoxImages == 0 ? $"{FirstBatchTagOnlyImages} tag-only image(s), image-label loss only"
            : $"{FirstBatchBoxImages} box image(s) and {FirstBatchTagOnlyImages} tag-only image(s)";
        return string.Create(CultureInfo.InvariantCulture,
            $"loss (moving average over ~{LossSmoother.Window} steps) {SmoothedFirst:F3} at step {SmoothedFirstStep} → {SmoothedLast:F3} at step {SmoothedLastStep}; first batch: {mix}, loss {FirstBatchLoss:F3}");
    }
}

/// <summary>Accumulates a <see cref="LossSummary"/>: a bias-corrected exponential moving average (β = 1 − 1/<see cref="Window"/>) of the applied steps' losses.</summary>
internal sealed class LossSmoother
{
    /// <summary>The steps the average spans, roughly; also the step of the first smoothed value.</summary>
    public const int Window = 10;

    private const double Beta = 1 - 1.0 / Window;

    private double _average;
    private int _count;
    private float _firstLoss = float.NaN;
    private int _firstBoxes, _firstTagOnly;
    private float _smoothedFirst = float.NaN;
    private int _smoothedFirstStep;
    private int _lastStep;

    /// <summary>Adds the loss of an applied step (1-based <paramref name="step"/>) and what its batch held.</summary>
    public void Add(int step, float loss, int boxImages, int tagOnlyImages)
    {
        if (_count == 0)
        {
            (_firstLoss, _firstBoxes, _firstTagOnly) = (loss, boxImages, tagOnlyImages);
        }

        _count++;
        _average = Beta * _average + (1 - Beta) * loss;
        _lastStep = step;
        if (_count == Window)
        {
            (_smoothedFirst, _smoothedFirstStep) = (Current, step);
        }
    }

    private float Current => (float)(_average / (1 - Math.Pow(Beta, _count)));

    public LossSummary Summary()
    {
        var last = _count == 0 ? float.NaN : Current;
        return _count >= Window
            ? new LossSummary(_firstLoss, _firstBoxes, _firstTagOnly, _smoothedFirst, _smoothedFirstStep, last, _lastStep)
            : new LossSummary(_firstLoss, _firstBoxes, _firstTagOnly, last, _lastStep, last, _lastStep);
    }
}
