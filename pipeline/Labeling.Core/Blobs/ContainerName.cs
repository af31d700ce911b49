using System.Text.RegularExpressions;

namespace Labeling.Blobs;

/// <summary>Azure container and queue naming rules, applied to every store so names port between backends.</summary>
public static partial class ContainerName
{
    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is 3–63 characters of lower-case letters, digits and single hyphens, starting and ending with a letter or digit.</summary>
    public static void Validate(string name, string kind = "container")
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Pattern().IsMatch(name) || name.Contains("--", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"Invalid {kind} name '{BlobName.Printable(name)}': use 3–63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.",
                nameof(name));
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
