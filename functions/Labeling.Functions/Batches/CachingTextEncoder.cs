using System.Collections.Concurrent;
using Labeling.Labels;
using Labeling.Vocabulary;

namespace Labeling.Functions.Batches;

/// <summary>Remembers the vectors of an encoder by normalised name: a worker sees the same tag names batch after batch.</summary>
internal sealed class CachingTextEncoder(ITextEncoder inner) : ITextEncoder
{
    // Bounded so that a stream of distinct tag names cannot grow the cache without end.
    private const int MaxEntries = 100_000;
    private readonly ConcurrentDictionary<string, float[]> _cache = new(StringComparer.Ordinal);

    public string Space => inner.Space;

    public int Dimension => inner.Dimension;

    public float[] Encode(string name)
    {
        var normalised = TagName.Normalise(name);
        if (!_cache.TryGetValue(normalised, out var vector))
        {
            vector = inner.Encode(normalised);
            if (_cache.Count < MaxEntries)
            {
                _cache.TryAdd(normalised, vector);
            }
        }

        return (float[])vector.Clone();
    }
}
