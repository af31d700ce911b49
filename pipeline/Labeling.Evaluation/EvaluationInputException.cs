namespace Labeling.Evaluation;

/// <summary>Ground truth or detections that cannot be evaluated: malformed JSON, a missing field, a bad box, an unknown image.</summary>
public sealed class EvaluationInputException(string message, Exception? inner = null) : Exception(message, inner);
