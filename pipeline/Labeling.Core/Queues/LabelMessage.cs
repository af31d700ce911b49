using System.Text.Json;
using System.Text.Json.Serialization;

namespace Labeling.Queues;

/// <summary>
/// The label queue's message (architecture: "Queue message"): <c>{"v":1,"batch":"&lt;guid&gt;","imageIds":[...]}</c>,
/// at most <see cref="QueueLimits.MaxMessageBytes"/>. Workers are idempotent per (image, model), so a
/// redelivered message is harmless. The scan also writes <c>"dataset"</c> (the id of the one dataset all its images
/// belong to) and <c>"gen"</c> (that dataset's generation when it was queued: workers drop a message of an older one);
/// both are left out when null, and a message without them (an older writer's) is still read.
/// </summary>
public sealed record LabelMessage(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("batch")] Guid Batch,
    [property: JsonPropertyName("imageIds")] IReadOnlyList<long> ImageIds,
    [property: JsonPropertyName("dataset"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Dataset = null,
    [property: JsonPropertyName("gen"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Generation = null)
{
    /// <summary>The version this build writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Most image ids one message may carry (keeps it far below the 64 KiB limit: 20 bytes an id at most).</summary>
    public const int MaxImages = 2048;

    /// <summary>
    /// A new version-1 message for <paramref name="imageIds"/> with a fresh batch id; with <paramref name="dataset"/>
    /// and <paramref name="generation"/> when the images are all of one dataset, queued under that generation.
    /// </summary>
    public static LabelMessage Create(IReadOnlyList<long> imageIds, long? dataset = null, long? generation = null)
    {
        ArgumentNullException.ThrowIfNull(imageIds);
        if (imageIds.Count is 0 or > MaxImages)
        {
            throw new ArgumentException($"A label message carries 1–{MaxImages} image ids, not {imageIds.Count}.", nameof(imageIds));
        }

        if (dataset is <= 0 || generation is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dataset), "A dataset id is positive and a generation not negative.");
        }

        return new LabelMessage(CurrentVersion, Guid.NewGuid(), imageIds, dataset, generation);
    }

    /// <summary>Serialises to the queue's JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>
    /// Parses and validates a message body. Throws <see cref="MalformedMessageException"/> for bad
    /// JSON, an unknown version, or missing, empty, duplicate or non-positive ids: such a message
    /// can never succeed and is dead-lettered, not retried.
    /// </summary>
    public static LabelMessage Parse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        LabelMessage? message;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new MalformedMessageException("The message is not a JSON object.");
            }

            if (!document.RootElement.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var version))
            {
                throw new MalformedMessageException("The message has no numeric version 'v'.");
            }

            if (version != CurrentVersion)
            {
                throw new MalformedMessageException($"Unknown message version {version}; this worker reads version {CurrentVersion}.");
            }

            message = document.RootElement.Deserialize<LabelMessage>();
        }
        catch (JsonException e)
        {
            throw new MalformedMessageException($"The message is not valid label-message JSON: {e.Message}", e);
        }

        if (message is null || message.Batch == Guid.Empty)
        {
            throw new MalformedMessageException("The message has no batch id.");
        }

        if (message.ImageIds is null || message.ImageIds.Count == 0)
        {
            throw new MalformedMessageException("The message lists no image ids.");
        }

        if (message.ImageIds.Count > MaxImages || message.ImageIds.Any(id => id <= 0) || message.ImageIds.Distinct().Count() != message.ImageIds.Count)
        {
            throw new MalformedMessageException($"The message's image ids must be 1–{MaxImages} distinct positive numbers.");
        }

        if (message.Dataset is <= 0 || message.Generation is < 0)
        {
            throw new MalformedMessageException("The message's dataset id must be positive and its generation not negative.");
        }

        return message;
    }
}

/// <summary>A queue message that can never be processed (bad JSON, unknown version, bad ids).</summary>
public sealed class MalformedMessageException(string message, Exception? inner = null) : Exception(message, inner);
