using static TorchSharp.torch;

namespace Labeling.Trainer.Losses;

internal static class Cosine
{
    /// <summary>Cosine similarity of every row of <paramref name="a"/> [N,D] with every row of <paramref name="b"/> [C,D]: [N,C].</summary>
    public static Tensor Between(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        // Normalising again costs little and keeps the result a cosine when embeddings are not exactly unit length.
        var unitA = nn.functional.normalize(a, p: 2, dim: 1);
        var unitB = nn.functional.normalize(b, p: 2, dim: 1);
        return unitA.matmul(unitB.t()).MoveToOuterDisposeScope();
    }
}
