namespace Labeling.Onnx;

/// <summary>Thrown by <see cref="OnnxGraphBuilder.Build"/> when the graph has problems; lists all of them.</summary>
public sealed class OnnxValidationException : Exception
{
    public OnnxValidationException(string graphName, IReadOnlyList<string> problems)
        : base(Describe(graphName, problems))
    {
        GraphName = graphName;
        Problems = problems;
    }

    /// <summary>The graph that failed validation.</summary>
    public string GraphName { get; }

    /// <summary>Every problem found, one sentence each, naming the offending value, node or initializer.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Describe(string graphName, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return $"ONNX graph '{graphName}' is not valid ({problems.Count} problem(s)):"
            + string.Concat(problems.Select(p => Environment.NewLine + "- " + p));
    }
}
