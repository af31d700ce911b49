using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Losses;

internal static class LossAssert
{
    /// <summary>A float32 tensor of <paramref name="shape"/> from row-major <paramref name="values"/>.</summary>
    public static Tensor Of(float[] values, params long[] shape) => tensor(values).reshape(shape);

    /// <summary>The scalar <paramref name="actual"/> equals <paramref name="expected"/> to float32 precision.</summary>
    public static void Close(double expected, Tensor actual, double tolerance = 1e-5)
    {
        Assert.Empty(actual.shape);
        var value = actual.item<float>();
        Assert.True(
            Math.Abs(expected - value) <= tolerance * Math.Max(1, Math.Abs(expected)),
            $"expected {expected:R}, got {value:R}");
    }

    /// <summary>The loss is a finite scalar and the gradient it sends to <paramref name="input"/> is finite and not all zero.</summary>
    public static void FiniteWithGradient(Tensor loss, Tensor input)
    {
        Assert.Empty(loss.shape);
        Assert.True(float.IsFinite(loss.item<float>()), $"loss {loss.item<float>()}");
        loss.backward();
        var grad = input.grad;
        Assert.NotNull(grad);
        Assert.True(grad.isfinite().all().item<bool>(), "non-finite gradient");
        Assert.True(grad.abs().sum().item<float>() > 0, "all-zero gradient");
    }

    // Hand-computation helpers in double precision, independent of the code under test.
    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Binary cross-entropy of logit <paramref name="x"/> against target 1 or 0.</summary>
    public static double Bce(double x, int target) => target == 1 ? Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));
}
