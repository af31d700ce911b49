namespace Labeling.Detection;

/// <summary>A model file that does not follow a detector contract, or a request the model cannot serve.</summary>
public sealed class DetectorContractException(string message, Exception? inner = null) : Exception(message, inner);
