namespace Labeling.Vocabulary;

/// <summary>
/// A vocabulary's embeddings live in a different text-embedding space from the one a model (or
/// another vocabulary) uses; cosine similarities across spaces are meaningless, so this is refused.
/// </summary>
public sealed class VocabularySpaceMismatchException : Exception
{
    /// <summary>Creates the exception for a vocabulary in <paramref name="vocabularySpace"/> offered where <paramref name="expectedSpace"/> is required.</summary>
    public VocabularySpaceMismatchException(string vocabularySpace, string expectedSpace)
        : base($"The vocabulary's embedding space is '{vocabularySpace}' but '{expectedSpace}' is required; encode the vocabulary with a '{expectedSpace}' text encoder.")
    {
        VocabularySpace = vocabularySpace;
        ExpectedSpace = expectedSpace;
    }

    /// <summary>The space the vocabulary was encoded in.</summary>
    public string VocabularySpace { get; }

    /// <summary>The space the model (or the other vocabulary) uses.</summary>
    public string ExpectedSpace { get; }
}
