using Labeling.Trainer.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Ops;

public sealed class BoxesTests
{
    public BoxesTests() => TorchRuntime.Initialise(threads: 1);

    private static Tensor B(params float[] xyxy) => tensor(xyxy).view(-1, 4);

    private static float[] Values(Tensor t) => t.data<float>().ToArray();

    [Fact]
    public void Area_IsWidthTimesHeight()
    {
        using var scope = NewDisposeScope();
        Assert.Equal([4f, 6f, 0f], Values(Boxes.Area(B(0, 0, 2, 2, 1, 1, 4, 3, 5, 5, 5, 9))));
    }

    [Fact]
    public void Iou_OfEveryPair_MatchesHandValues()
    {
        using var scope = NewDisposeScope();
        // [0,0,2,2] vs [1,1,3,3]: intersection 1, union 4 + 4 − 1 = 7. vs [0,0,2,2]: 1. vs [5,5,6,6]: 0.
        // [0,0,4,2] vs [1,1,3,3]: intersection 2 (x 1..3, y 1..2), union 8 + 4 − 2 = 10.
        var iou = Boxes.Iou(B(0, 0, 2, 2, 0, 0, 4, 2), B(1, 1, 3, 3, 0, 0, 2, 2, 5, 5, 6, 6));

        Assert.Equal(new long[] { 2, 3 }, iou.shape);
        var v = Values(iou);
        Assert.Equal(1f / 7, v[0], 1e-7f);
        Assert.Equal(1f, v[1], 1e-7f);
        Assert.Equal(0f, v[2]);
        Assert.Equal(2f / 10, v[3], 1e-7f);
        Assert.Equal(4f / 8, v[4], 1e-7f);
        Assert.Equal(0f, v[5]);
    }

    [Fact]
    public void Iou_OfEmptyBoxes_IsZeroNotNaN()
    {
        using var scope = NewDisposeScope();
        Assert.Equal([0f], Values(Boxes.Iou(B(3, 3, 3, 3), B(3, 3, 3, 3))));
    }

    [Fact]
    public void GeneralizedIou_MatchesHandValues()
    {
        using var scope = NewDisposeScope();
        // Overlapping: IoU 1/7, enclosing [0,0,3,3] = 9, union 7 → 1/7 − 2/9.
        // Disjoint: [0,0,1,1] and [2,2,3,3]: IoU 0, enclosing 9, union 2 → −7/9.
        // Side by side, touching: [0,0,1,1] and [1,0,2,1]: IoU 0, enclosing 2 = union → 0.
        // Identical: 1.
        var giou = Boxes.GeneralizedIou(
            B(0, 0, 2, 2, 0, 0, 1, 1, 0, 0, 1, 1, 4, 4, 7, 9),
            B(1, 1, 3, 3, 2, 2, 3, 3, 1, 0, 2, 1, 4, 4, 7, 9));

        Assert.Equal(new long[] { 4 }, giou.shape);
        var v = Values(giou);
        Assert.Equal(1f / 7 - 2f / 9, v[0], 1e-7f);
        Assert.Equal(-7f / 9, v[1], 1e-7f);
        Assert.Equal(0f, v[2], 1e-7f);
        Assert.Equal(1f, v[3], 1e-7f);
    }

    [Fact]
    public void GeneralizedIou_GivesFiniteGradients_EvenForDisjointAndEmptyBoxes()
    {
        using var scope = NewDisposeScope();
        var a = B(0, 0, 1, 1, 3, 3, 3, 3).requires_grad_();
        var b = B(2, 2, 3, 3, 3, 3, 3, 3);

        (1 - Boxes.GeneralizedIou(a, b)).sum().backward();

        Assert.True(a.grad!.isfinite().all().item<bool>());
        // Growing the disjoint box towards the other lowers the loss: x2 and y2 get negative gradients.
        var g = Values(a.grad!);
        Assert.True(g[2] < 0 && g[3] < 0);
    }

    [Fact]
    public void Clip_ClampsToTheImage()
    {
        using var scope = NewDisposeScope();
        var clipped = Boxes.Clip(B(-5, 2, 30, 12, 1, -1, 4, 25), width: 20, height: 10);
        Assert.Equal([0f, 2, 20, 10, 1, 0, 4, 10], Values(clipped));
    }

    [Fact]
    public void EncodeDeltas_MatchesHandValues()
    {
        using var scope = NewDisposeScope();
        // Proposal centre (5,5), size 10×10; target centre (7,4), size 20×5.
        var deltas = Boxes.EncodeDeltas(B(0, 0, 10, 10), B(-3, 1.5f, 17, 6.5f));
        var v = Values(deltas);
        Assert.Equal(10 * 2f / 10, v[0], 1e-6f);
        Assert.Equal(10 * -1f / 10, v[1], 1e-6f);
        Assert.Equal(5 * MathF.Log(2), v[2], 1e-6f);
        Assert.Equal(5 * MathF.Log(0.5f), v[3], 1e-6f);

        var unweighted = Values(Boxes.EncodeDeltas(B(0, 0, 10, 10), B(-3, 1.5f, 17, 6.5f), new DeltaWeights(1, 1, 1, 1)));
        Assert.Equal(0.2f, unweighted[0], 1e-6f);
        Assert.Equal(MathF.Log(2), unweighted[2], 1e-6f);
    }

    [Fact]
    public void DecodeDeltas_InvertsEncodeDeltas()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        var proposals = RandomBoxes(64, generator);
        var targets = RandomBoxes(64, generator);
        foreach (var weights in new DeltaWeights?[] { null, new DeltaWeights(1, 1, 1, 1), new DeltaWeights(2, 3, 4, 0.5f) })
        {
            var decoded = Boxes.DecodeDeltas(proposals, Boxes.EncodeDeltas(proposals, targets, weights), weights);
            Assert.True(decoded.allclose(targets, rtol: 1e-5, atol: 1e-3), $"round trip with {weights}");
        }
    }

    [Fact]
    public void DecodeDeltas_CapsTheSizeScale()
    {
        using var scope = NewDisposeScope();
        // dw = dh = 100 (after the weight 5: 20) would scale by e^20; the cap allows 1000/16.
        var decoded = Values(Boxes.DecodeDeltas(B(0, 0, 2, 4), B(0, 0, 500, 500)));
        Assert.Equal(2 * 1000f / 16, decoded[2] - decoded[0], 1e-3f);
        Assert.Equal(4 * 1000f / 16, decoded[3] - decoded[1], 1e-3f);
        Assert.Equal(1f, (decoded[0] + decoded[2]) / 2, 1e-4f);
    }

    private static Tensor RandomBoxes(int n, Generator generator)
    {
        var corner = rand([n, 2], generator: generator) * 100;
        var size = rand([n, 2], generator: generator) * 50 + 1;
        return cat([corner, corner + size], 1);
    }
}
