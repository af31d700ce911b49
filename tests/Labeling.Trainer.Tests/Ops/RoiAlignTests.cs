using Labeling.Onnx;
using Labeling.Trainer.Ops;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Ops;

/// <summary>RoiAlign against ONNX Runtime's RoiAlign-16 (avg, half_pixel), and its gradients.</summary>
public sealed class RoiAlignTests
{
    public RoiAlignTests() => TorchRuntime.Initialise(threads: 1);

    [Theory]
    [InlineData(13, 13, 1f / 8, 7, 7, 1)]
    [InlineData(13, 13, 1f / 4, 3, 5, 2)]
    [InlineData(9, 17, 1f / 8, 3, 5, 3)]
    [InlineData(9, 17, 1f / 4, 7, 7, 4)]
    public void Forward_MatchesOnnxRuntime_OnRandomFeaturesAndBoxes(int height, int width, float scale, int outputHeight, int outputWidth, int seed)
    {
        using var scope = NewDisposeScope();
        const int batch = 2, channels = 3, samplingRatio = 2;
        var random = new Random(seed);
        var features = Enumerable.Range(0, batch * channels * height * width).Select(_ => Gaussian(random)).ToArray();
        var (rois, indices) = RandomBoxes(random, width / scale, height / scale, batch);

        var expected = RunOnnxRuntime(features, [batch, channels, height, width], rois, indices, outputHeight, outputWidth, scale, samplingRatio);
        var actual = RoiAlign.Forward(
            tensor(features).view(batch, channels, height, width), tensor(rois).view(-1, 4), tensor(indices),
            outputHeight, outputWidth, scale, samplingRatio);

        Assert.Equal(new long[] { indices.Length, channels, outputHeight, outputWidth }, actual.shape);
        var values = actual.data<float>().ToArray();
        var worst = values.Zip(expected, (a, e) => Math.Abs(a - e)).Max();
        Assert.True(worst < 1e-5, $"max abs difference from ONNX Runtime {worst}");
    }

    [Fact]
    public void Forward_OfNoBoxes_IsEmpty()
    {
        using var scope = NewDisposeScope();
        var pooled = RoiAlign.Forward(randn(2, 3, 8, 8), zeros(0, 4), zeros(0, dtype: ScalarType.Int64), 7, 7, 0.25f, 2);
        Assert.Equal(new long[] { 0, 3, 7, 7 }, pooled.shape);
    }

    [Fact]
    public void Gradients_ReachTheFeaturesAndTheBoxes()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var features = randn([2, 3, 13, 13], generator: generator).requires_grad_();
        var rois = tensor(new float[] { 4, 8, 60, 90, 30, 2, 50, 40, -20, 10, 70, 120 }).view(3, 4).requires_grad_();

        RoiAlign.Forward(features, rois, tensor(new long[] { 0, 1, 1 }), 7, 7, 1f / 8, 2).square().sum().backward();

        Assert.True(features.grad!.isfinite().all().item<bool>());
        Assert.True(features.grad![0].abs().sum().item<float>() > 0, "image 0 gets gradient");
        Assert.True(features.grad![1].abs().sum().item<float>() > 0, "image 1 gets gradient");
        Assert.True(rois.grad!.isfinite().all().item<bool>());
        Assert.True(rois.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        // Double precision so that central differences are accurate to ~1e-9. The box stays inside the
        // map with its samples off integer positions, where the op is smooth.
        var features = randn([1, 2, 5, 6], ScalarType.Float64, generator: generator);
        var rois = tensor(new double[] { 3.3, 2.9, 17.1, 13.7 }).view(1, 4);
        var projection = randn([1, 2, 2, 3], ScalarType.Float64, generator: generator);
        double Loss(Tensor f, Tensor r)
        {
            using var inner = NewDisposeScope();
            return (RoiAlign.Forward(f, r, tensor(new long[] { 0 }), 2, 3, 0.25f, 2) * projection).sum().item<double>();
        }

        var f = features.clone().requires_grad_();
        var r = rois.clone().requires_grad_();
        (RoiAlign.Forward(f, r, tensor(new long[] { 0 }), 2, 3, 0.25f, 2) * projection).sum().backward();

        AssertNumericGradient(features, f.grad!, x => Loss(x, rois));
        AssertNumericGradient(rois, r.grad!, x => Loss(features, x));
    }

    private static void AssertNumericGradient(Tensor at, Tensor analytic, Func<Tensor, double> loss)
    {
        const double step = 1e-6;
        var flat = analytic.flatten();
        for (var i = 0; i < at.numel(); i++)
        {
            using var scope = NewDisposeScope();
            var plus = at.clone();
            plus.view(-1)[i].add_(step);
            var minus = at.clone();
            minus.view(-1)[i].sub_(step);
            var numeric = (loss(plus) - loss(minus)) / (2 * step);
            Assert.Equal(numeric, flat[i].item<double>(), 1e-7);
        }
    }

    /// <summary>
    /// Boxes in input pixels over an image of <paramref name="imageWidth"/> × <paramref name="imageHeight"/>:
    /// ordinary ones, boxes partly and fully outside, tiny (&lt; 1 px), empty and huge ones.
    /// </summary>
    private static (float[] Rois, long[] Indices) RandomBoxes(Random random, float imageWidth, float imageHeight, int batch)
    {
        var rois = new List<float>();
        var indices = new List<long>();
        float Uniform(float low, float high) => low + (float)random.NextDouble() * (high - low);
        void Add(float x1, float y1, float x2, float y2)
        {
            rois.AddRange([x1, y1, x2, y2]);
            indices.Add(random.Next(batch));
        }
        void AddSized(float cx, float cy, float w, float h) => Add(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);

        for (var i = 0; i < 40; i++)
        {
            AddSized(Uniform(0, imageWidth), Uniform(0, imageHeight), Uniform(4, imageWidth), Uniform(4, imageHeight));
        }
        for (var i = 0; i < 20; i++)
        {
            // Straddling an edge, or well outside the map on any side.
            AddSized(Uniform(-0.3f, 1.3f) * imageWidth, Uniform(-0.3f, 1.3f) * imageHeight, Uniform(2, imageWidth), Uniform(2, imageHeight));
            AddSized(Uniform(-2f, 3f) * imageWidth, Uniform(-2f, 3f) * imageHeight, Uniform(1, imageWidth / 2), Uniform(1, imageHeight / 2));
        }
        for (var i = 0; i < 20; i++)
        {
            AddSized(Uniform(-4, imageWidth + 4), Uniform(-4, imageHeight + 4), Uniform(0, 1), Uniform(0, 1));
            AddSized(Uniform(0, imageWidth), Uniform(0, imageHeight), Uniform(2, 5) * imageWidth, Uniform(2, 5) * imageHeight);
        }
        Add(0, 0, imageWidth, imageHeight);
        Add(10, 10, 10, 10);
        Add(-imageWidth, -imageHeight, 2 * imageWidth, 2 * imageHeight);
        Add(imageWidth + 20, imageHeight + 20, imageWidth + 60, imageHeight + 50);
        return (rois.ToArray(), indices.ToArray());
    }

    private static float[] RunOnnxRuntime(float[] features, long[] shape, float[] rois, long[] indices,
        int outputHeight, int outputWidth, float scale, int samplingRatio)
    {
        var g = new OnnxGraphBuilder("roialign", opset: 17);
        var x = g.Input("x", TensorElementType.Float, shape[0], shape[1], shape[2], shape[3]);
        var r = g.Input("rois", TensorElementType.Float, "n", 4);
        var b = g.Input("batch_indices", TensorElementType.Int64, "n");
        g.Identity(g.RoiAlign(x, r, b, outputHeight, outputWidth, samplingRatio, scale, "avg", "half_pixel"), "y");
        g.Output("y", TensorElementType.Float, "n", shape[1], outputHeight, outputWidth);

        using var session = new InferenceSession(OnnxModelFile.ToBytes(g.Build()));
        using var xValue = OrtValue.CreateTensorValueFromMemory(features, shape);
        using var roisValue = OrtValue.CreateTensorValueFromMemory(rois, [indices.Length, 4]);
        using var indicesValue = OrtValue.CreateTensorValueFromMemory(indices, [indices.Length]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x", "rois", "batch_indices"], [xValue, roisValue, indicesValue], ["y"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float Gaussian(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
