using System.Text.Json;
using System.Text.Json.Serialization;

namespace Labeling.Queues;

/// <summary>
/// What a poison queue holds: the original message body and why it was given up on. Both
/// backends write the same JSON so tools read dead letters alike.
/// </summary>
public sealed record PoisonMessage(
    [property: JsonPropertyName("queue")] string Queue,
    [property: JsonPropertyName("messageId")] string MessageId,
    [property: JsonPropertyName("dequeueCount")] long DequeueCount,
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("failedAt")] DateTimeOffset FailedAt,
    [property: JsonPropertyName("body")] string Body)
{
    /// <summary>The error recorded for a message that was received too often without being completed.</summary>
    public static string TooManyDequeues(long count, int max) =>
        $"Received {count} times, more than the maximum of {max}, without being completed (the worker failed, crashed or timed out each time).";

    /// <summary>Serialises to JSON, cutting the error and if need be the body so the result fits in one queue message.</summary>
    public string ToJson()
    {
        var error = Error.Length > 4096 ? Error[..4096] + "…" : Error;
        var json = JsonSerializer.Serialize(this with { Error = error });
        if (System.Text.Encoding.UTF8.GetByteCount(json) <= QueueLimits.MaxMessageBytes)
        {
            return json;
        }

        // The original was at most 64 KiB, but escaping can grow it (a quote becomes \u0022): keep its head and say so.
        var truncated = this with { Error = error + " (body truncated in the poison copy)" };
        for (var keep = Body.Length / 2; ; keep /= 2)
        {
            json = JsonSerializer.Serialize(truncated with { Body = Body[..keep] });
            if (System.Text.Encoding.UTF8.GetByteCount(json) <= QueueLimits.MaxMessageBytes)
            {
                return json;
            }
        }
    }

    /// <summary>Parses a poison queue message.</summary>
    public static PoisonMessage Parse(string json) =>
        JsonSerializer.Deserialize<PoisonMessage>(json) ?? throw new FormatException("Empty poison message.");
}
