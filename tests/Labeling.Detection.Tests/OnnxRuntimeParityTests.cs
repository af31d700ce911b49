using Labeling.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Labeling.Detection.Tests;

/// <summary>Graphs written by the project's ONNX writer, run by ONNX Runtime, against values computed by hand.</summary>
public sealed class OnnxRuntimeParityTests : IDisposable
{
    private readonly TestFolder _folder = new();

    private float[] Run(OnnxGraphBuilder g, string output, params (string Name, float[] Data, long[] Shape)[] inputs)
    {
        var path = _folder.File($"{g.GraphName}.onnx");
        OnnxModelFile.Save(g.Build(), path);
        using var session = new InferenceSession(path);
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape)).ToList();
        try
        {
            using var results = session.Run(new RunOptions(), inputs.Select(i => i.Name).ToList(), values, [output]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    [Fact]
    public void Conv_MatchesAHandComputation()
    {
        // 1×1×3×3 input, one 2×2 kernel, bias 0.5, stride 1, no padding → 2×2 output.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        float[] w = [1, 0, -1, 2];
        var g = new OnnxGraphBuilder("conv");
        var input = g.Input("x", TensorElementType.Float, 1, 1, 3, 3);
        g.Identity(g.Conv(input, w, [1, 1, 2, 2], [0.5f], prefix: "c"), "y");
        g.Output("y", TensorElementType.Float, 1, 1, 2, 2);

        var y = Run(g, "y", ("x", x, [1, 1, 3, 3]));

        float At(int r, int c) => x[r * 3 + c];
        var expected = new float[4];
        for (var r = 0; r < 2; r++)
        {
            for (var c = 0; c < 2; c++)
            {
                expected[r * 2 + c] = At(r, c) * w[0] + At(r, c + 1) * w[1] + At(r + 1, c) * w[2] + At(r + 1, c + 1) * w[3] + 0.5f;
            }
        }

        Assert.Equal(expected, y);
    }

    [Fact]
    public void RoiAlign_AvgHalfPixel_OnALinearRamp_GivesTheBinCentres()
    {
        // f(x, y) = x on an 8×8 map: bilinear sampling is exact, so each output bin is the x of its centre.
        var map = new float[64];
        for (var i = 0; i < 64; i++)
        {
            map[i] = i % 8;
        }

        var g = new OnnxGraphBuilder("roialign");
        var features = g.Input("features", TensorElementType.Float, 1, 1, 8, 8);
        var rois = g.Input("rois", TensorElementType.Float, 1, 4);
        var indices = g.Initializer("batch_indices", new long[] { 0 }, 1);
        g.Identity(g.RoiAlign(features, rois, indices, outputHeight: 2, outputWidth: 2, samplingRatio: 2), "pooled");
        g.Output("pooled", TensorElementType.Float, 1, 1, 2, 2);

        var pooled = Run(g, "pooled", ("features", map, [1, 1, 8, 8]), ("rois", [2, 1, 6, 5], [1, 4]));

        // half_pixel: sample at box coordinates − 0.5. Box x 2..6 → bins [2,4],[4,6] → centres 3, 5 → values 2.5, 4.5.
        Assert.Equal([2.5f, 4.5f, 2.5f, 4.5f], pooled.Select(v => MathF.Round(v, 5)));
    }

    [Fact]
    public void NonMaxSuppression_SelectsWhatGreedyNmsKeeps()
    {
        // Box 1 overlaps box 0 (IoU 0.81) with a lower score; box 2 is apart.
        float[] boxes = [0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30];
        float[] scores = [0.9f, 0.8f, 0.7f];
        var g = new OnnxGraphBuilder("nms");
        var b = g.Input("boxes", TensorElementType.Float, 1, 3, 4);
        var s = g.Input("scores", TensorElementType.Float, 1, 1, 3);
        g.Identity(g.Cast(g.NonMaxSuppression(b, s, maxOutputBoxesPerClass: 10, iouThreshold: 0.5f, scoreThreshold: 0f), TensorElementType.Float), "selected");
        g.Output("selected", TensorElementType.Float, "s", 3);

        var selected = Run(g, "selected", ("boxes", boxes, [1, 3, 4]), ("scores", scores, [1, 1, 3]));

        Assert.Equal([0f, 0, 0, 0, 0, 2], selected);
        var ours = Nms.PerClass(
            [new Detection(0, 0, 0, 10, 10, 0.9f, 1, 0.9f), new Detection(0, 1, 1, 11, 11, 0.8f, 1, 0.8f), new Detection(0, 20, 20, 30, 30, 0.7f, 1, 0.7f)], 0.5f, 10);
        Assert.Equal([0f, 20f], ours.Select(d => d.X1));
    }

    public void Dispose() => _folder.Dispose();
}
