namespace Labeling.Detection;

/// <summary>How a region-embedding model combines objectness with the class probability (metadata <c>labeling.score_rule</c>).</summary>
public enum ScoreRule
{
    /// <summary>sqrt(objectness · class probability): Detic's rule, the default.</summary>
    GeometricMean,

    /// <summary>objectness · class probability.</summary>
    Product,

    /// <summary>The class probability alone.</summary>
    ClassOnly,
}

/// <summary>Score arithmetic shared by the contracts.</summary>
public static class Scores
{
    /// <summary>Parses a <c>labeling.score_rule</c> value.</summary>
    public static ScoreRule ParseRule(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "geometric-mean" or "geometric_mean" or "sqrt" => ScoreRule.GeometricMean,
        "product" => ScoreRule.Product,
        "class" or "class-only" => ScoreRule.ClassOnly,
        _ => throw new DetectorContractException($"Unknown labeling.score_rule '{value}': use geometric-mean, product or class."),
    };

    /// <summary>The logistic function.</summary>
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>Combines objectness and class probability under <paramref name="rule"/>.</summary>
    public static float Combine(ScoreRule rule, float objectness, float classProbability) => rule switch
    {
        ScoreRule.GeometricMean => MathF.Sqrt(Math.Max(0, objectness) * Math.Max(0, classProbability)),
        ScoreRule.Product => objectness * classProbability,
        _ => classProbability,
    };

    /// <summary>Cosine similarity of two L2-normalised vectors (their dot product).</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
}
