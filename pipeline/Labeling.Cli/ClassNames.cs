using Labeling.Labels;

namespace Labeling.Cli;

/// <summary>Known class names for <c>--class</c>: an unknown name is an error that names the nearest known ones.</summary>
internal static class ClassNames
{
    /// <summary>How many near names an error suggests.</summary>
    public const int Suggestions = 3;

    /// <summary>
    /// The <see cref="Suggestions"/> names of <paramref name="known"/> nearest to <paramref name="name"/>:
    /// most words in common first, then the fewest edits (Levenshtein), then ordinal order.
    /// </summary>
    public static IReadOnlyList<string> Nearest(string name, IReadOnlyCollection<string> known)
    {
        var words = Words(name);
        return known
            .Select(k => (Name: k, Shared: Words(k).Count(words.Contains), Distance: EditDistance(name, k)))
            .OrderByDescending(k => k.Shared).ThenBy(k => k.Distance).ThenBy(k => k.Name, StringComparer.Ordinal)
            .Take(Suggestions)
            .Select(k => k.Name)
            .ToList();
    }

    /// <summary>
    /// <paramref name="name"/> normalised like a tag when the store knows that class (null stays null);
    /// otherwise a <see cref="CliException"/> naming the nearest known classes.
    /// </summary>
    public static async Task<string?> RequireKnownAsync(ILabelStore store, string? name, CancellationToken cancellationToken)
    {
        if (name is null)
        {
            return null;
        }

        var normalised = TagName.Normalise(name);
        var known = await store.ListClassNamesAsync(cancellationToken);
        if (known.Contains(normalised, StringComparer.Ordinal))
        {
            return normalised;
        }

        throw new CliException(known.Count == 0
            ? $"no class '{name}': the database knows no classes yet (ingest tagged images first)."
            : $"no class '{name}'; nearest known: {string.Join(", ", Nearest(normalised, known))} ({known.Count} class(es) known; `labeling status` lists the datasets).");
    }

    private static HashSet<string> Words(string name) =>
        name.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
