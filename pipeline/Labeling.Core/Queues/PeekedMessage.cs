namespace Labeling.Queues;

/// <summary>A message read by <see cref="IWorkQueue.PeekAsync"/>: its content without a lease, so it cannot be deleted or updated.</summary>
/// <param name="MessageId">Stable id of the message.</param>
/// <param name="Body">The message text.</param>
/// <param name="DequeueCount">How many times it has been received so far.</param>
/// <param name="InsertedOn">When it was sent.</param>
public sealed record PeekedMessage(string MessageId, string Body, long DequeueCount, DateTimeOffset InsertedOn);
