using Labeling.Detection;

namespace Labeling.Detection.Tests;

public sealed class NmsTests
{
    private static Detection Box(int cls, float x1, float y1, float x2, float y2, float score) => new(cls, x1, y1, x2, y2, score, 1, score);

    [Fact]
    public void IoU_OfKnownBoxes()
    {
        Assert.Equal(1f, Nms.IoU(0, 0, 10, 10, 0, 0, 10, 10));
        Assert.Equal(0f, Nms.IoU(0, 0, 10, 10, 10, 0, 20, 10)); // touching edges share no area
        Assert.Equal(25f / 175f, Nms.IoU(0, 0, 10, 10, 5, 5, 15, 15), 6);
        Assert.Equal(0f, Nms.IoU(0, 0, 0, 0, 0, 0, 0, 0));
    }

    [Fact]
    public void PerClass_SuppressesOverlapsWithinAClass_KeepsThemAcrossClasses()
    {
        var boxes = new[]
        {
            Box(0, 0, 0, 10, 10, 0.9f),
            Box(0, 1, 1, 11, 11, 0.8f),   // IoU 0.68 with the first: suppressed
            Box(1, 1, 1, 11, 11, 0.7f),   // same place, other class: kept
            Box(0, 20, 20, 30, 30, 0.6f), // far away: kept
        };

        var kept = Nms.PerClass(boxes, 0.5f, 100);

        Assert.Equal([0.9f, 0.7f, 0.6f], kept.Select(b => b.Score));
    }

    [Fact]
    public void PerClass_IoUExactlyAtThreshold_IsKept_AndMaxIsHonoured()
    {
        // IoU of these two is exactly 1/3.
        var boxes = new[] { Box(0, 0, 0, 2, 1, 0.9f), Box(0, 1, 0, 3, 1, 0.8f), Box(0, 5, 5, 6, 6, 0.1f) };

        Assert.Equal(3, Nms.PerClass(boxes, 1f / 3f, 100).Count);
        Assert.Equal(2, Nms.PerClass(boxes, 0.3f, 100).Count);
        Assert.Single(Nms.PerClass(boxes, 1f / 3f, 1));
    }

    [Fact]
    public void PerClass_EqualScores_KeepTheEarlierBox()
    {
        var boxes = new[] { Box(0, 0, 0, 10, 10, 0.5f), Box(0, 0, 0, 10, 10.5f, 0.5f) };

        var kept = Assert.Single(Nms.PerClass(boxes, 0.5f, 10));

        Assert.Equal(10f, kept.Y2);
    }
}
