using Labeling.Labels;

namespace Labeling.Vocabulary;

/// <summary>
/// A detection vocabulary: distinct normalised class names with their text embeddings in one
/// space. It is data, not part of a model: any tag list becomes a vocabulary, and a
/// <c>region-embedding/1</c> model scores regions against <see cref="Embeddings"/> once
/// <see cref="EnsureSpace"/> has confirmed the spaces agree.
/// </summary>
/// <remarks>
/// The type shares its name with its namespace; code in another <c>Labeling.*</c> namespace
/// resolves <c>Vocabulary</c> to the namespace first, so refer to it through an alias
/// (<c>using ClassVocabulary = Labeling.Vocabulary.Vocabulary;</c>) or fully qualified.
/// </remarks>
public sealed class Vocabulary
{
    private readonly float[] _embeddings;
    private readonly Dictionary<string, int> _index;

    private Vocabulary(string space, int dimension, List<string> names, Dictionary<string, int> index, float[] embeddings)
    {
        Space = space;
        Dimension = dimension;
        Names = names.AsReadOnly();
        _index = index;
        _embeddings = embeddings;
    }

    /// <summary>The text-embedding space of <see cref="Embeddings"/> (the encoder's <see cref="ITextEncoder.Space"/>).</summary>
    public string Space { get; }

    /// <summary>Length of each embedding.</summary>
    public int Dimension { get; }

    /// <summary>The distinct normalised class names, in first-seen order; row <c>i</c> of <see cref="Embeddings"/> belongs to <c>Names[i]</c>.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary><c>Names.Count × Dimension</c> floats, row-major, each row of unit L2 norm.</summary>
    public ReadOnlyMemory<float> Embeddings => _embeddings;

    /// <summary>
    /// Encodes <paramref name="names"/> with <paramref name="encoder"/>: each name is normalised with
    /// <see cref="TagName.Normalise"/>, repeats are dropped (first-seen order is kept), and each
    /// embedding is scaled to unit norm.
    /// </summary>
    /// <exception cref="ArgumentException">A name is invalid after normalisation.</exception>
    /// <exception cref="KeyNotFoundException">The encoder cannot encode one of the names.</exception>
    public static Vocabulary Create(ITextEncoder encoder, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(names);
        var space = encoder.Space;
        var dimension = encoder.Dimension;
        if (string.IsNullOrWhiteSpace(space) || dimension < 1)
        {
            throw new ArgumentException($"The encoder reports space '{space}' and dimension {dimension}; a space name and a positive dimension are required.", nameof(encoder));
        }

        var distinct = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var raw in names)
        {
            var name = TagName.Normalise(raw);
            if (index.TryAdd(name, distinct.Count))
            {
                distinct.Add(name);
            }
        }

        var embeddings = new float[(long)distinct.Count * dimension];
        for (var i = 0; i < distinct.Count; i++)
        {
            var vector = encoder.Encode(distinct[i]);
            if (vector.Length != dimension)
            {
                throw new InvalidOperationException($"The '{space}' encoder returned {vector.Length} values for '{distinct[i]}' but declares dimension {dimension}.");
            }

            var row = embeddings.AsSpan(i * dimension, dimension);
            vector.CopyTo(row);
            if (!VectorMath.TryNormalise(row))
            {
                throw new InvalidOperationException($"The '{space}' encoder returned a zero or non-finite vector for '{distinct[i]}'.");
            }
        }

        return new Vocabulary(space, dimension, distinct, index, embeddings);
    }

    /// <summary>Row of <paramref name="name"/> (normalised first) in <see cref="Names"/> and <see cref="Embeddings"/>, or -1.</summary>
    public int IndexOf(string name) => _index.TryGetValue(TagName.Normalise(name), out var i) ? i : -1;

    /// <summary>Throws unless this vocabulary is in <paramref name="modelEmbeddingSpace"/> (a model's <c>labeling.embedding_space</c>); names are compared exactly.</summary>
    /// <exception cref="VocabularySpaceMismatchException">The spaces differ; the message names both.</exception>
    public void EnsureSpace(string modelEmbeddingSpace)
    {
        ArgumentNullException.ThrowIfNull(modelEmbeddingSpace);
        if (!string.Equals(Space, modelEmbeddingSpace, StringComparison.Ordinal))
        {
            throw new VocabularySpaceMismatchException(Space, modelEmbeddingSpace);
        }
    }

    /// <summary>
    /// Cosine similarities between every class of this vocabulary (rows) and every class of
    /// <paramref name="other"/> (columns) — ScaleDet's label-similarity matrix S. For
    /// <c>SimilarityMatrix(this)</c> the result is exactly symmetric with a unit diagonal (to float rounding).
    /// </summary>
    /// <exception cref="VocabularySpaceMismatchException">The vocabularies are in different spaces.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1814:Prefer jagged arrays over multidimensional", Justification = "A dense similarity matrix is the contract the trainer and detector share.")]
    public float[,] SimilarityMatrix(Vocabulary other)
    {
        ArgumentNullException.ThrowIfNull(other);
        other.EnsureSpace(Space);
        if (other.Dimension != Dimension)
        {
            throw new ArgumentException($"Vocabularies in space '{Space}' disagree on the dimension ({Dimension} vs {other.Dimension}).", nameof(other));
        }

        var result = new float[Names.Count, other.Names.Count];
        for (var i = 0; i < Names.Count; i++)
        {
            var a = _embeddings.AsSpan(i * Dimension, Dimension);
            for (var j = 0; j < other.Names.Count; j++)
            {
                result[i, j] = VectorMath.Dot(a, other._embeddings.AsSpan(j * Dimension, Dimension));
            }
        }

        return result;
    }
}
