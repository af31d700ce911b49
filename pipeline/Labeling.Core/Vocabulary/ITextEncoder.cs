namespace Labeling.Vocabulary;

/// <summary>
/// Maps a class name to a vector in a named text-embedding space; a detector's region embeddings
/// are compared against these vectors by cosine similarity (see the detector contract,
/// <c>labeling.embedding_space</c>).
/// </summary>
public interface ITextEncoder
{
    /// <summary>The embedding space's name, e.g. <c>hashbow-256</c> or <c>clip-vit-b32</c>; a model declares the space it was trained against.</summary>
    string Space { get; }

    /// <summary>Length of every vector <see cref="Encode"/> returns.</summary>
    int Dimension { get; }

    /// <summary>
    /// Encodes <paramref name="name"/> after normalising it with <see cref="Labels.TagName.Normalise"/>;
    /// the result has <see cref="Dimension"/> components and unit L2 norm.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or invalid after normalisation.</exception>
    /// <exception cref="KeyNotFoundException">The encoder cannot encode this name (a fixed table that does not hold it).</exception>
    float[] Encode(string name);
}
