using Labeling.Trainer.Training;

namespace Labeling.Trainer.Tests.Training;

/// <summary>The training summary reports a moving average, so one odd first batch does not read as a regression.</summary>
public sealed class LossSummaryTests
{
    [Fact]
    public void ALowTagOnlyFirstBatch_ThenFallingLoss_ReadsAsFalling()
    {
        // What a first user saw: a tag-only first batch (image-label loss only, 0.468), then box batches from 5 down to 1.
        var smoother = new LossSmoother();
        smoother.Add(1, 0.468f, boxImages: 0, tagOnlyImages: 4);
        for (var step = 2; step <= 60; step++)
        {
            smoother.Add(step, 5f - 4f * (step - 2) / 58, boxImages: 4, tagOnlyImages: 0);
        }

        var summary = smoother.Summary();

        Assert.Equal(0.468f, summary.FirstBatchLoss);
        Assert.Equal((0, 4), (summary.FirstBatchBoxImages, summary.FirstBatchTagOnlyImages));
        Assert.Equal(LossSmoother.Window, summary.SmoothedFirstStep);
        Assert.Equal(60, summary.SmoothedLastStep);
        Assert.InRange(summary.SmoothedFirst, 4f, 5f); // the 0.468 barely moves it
        Assert.InRange(summary.SmoothedLast, 1f, 2f); // an average lags a falling loss by about a window
        var text = summary.Describe();
        Assert.Contains("→", text, StringComparison.Ordinal);
        Assert.Contains("tag-only", text, StringComparison.Ordinal);
        Assert.Contains("0.468", text, StringComparison.Ordinal);
    }

    [Fact]
    public void FewerStepsThanTheWindow_ReportTheLastStepForBoth()
    {
        var smoother = new LossSmoother();
        smoother.Add(1, 2f, 4, 0);
        smoother.Add(2, 1f, 4, 0);

        var summary = smoother.Summary();

        Assert.Equal((2, 2), (summary.SmoothedFirstStep, summary.SmoothedLastStep));
        Assert.Equal(summary.SmoothedFirst, summary.SmoothedLast);
        Assert.InRange(summary.SmoothedLast, 1f, 2f);
    }

    [Fact]
    public void NoAppliedStep_IsNaN_AndSaysSo()
    {
        var summary = new LossSmoother().Summary();

        Assert.True(float.IsNaN(summary.SmoothedLast));
        Assert.Contains("no step", summary.Describe(), StringComparison.Ordinal);
    }
}
