using System.Globalization;
using System.Text.Json;
using Labeling.Labels;

namespace Labeling.Vocabulary;

/// <summary>
/// A fixed text encoder: a table of class names and their precomputed vectors (e.g. CLIP ViT-B/32
/// prompt embeddings, space <c>clip-vit-b32</c>). Names are normalised with
/// <see cref="TagName.Normalise"/>; when two names normalise to the same one the first row is kept.
/// Rows are scaled to unit L2 norm on load. <see cref="Encode"/> of a name the table does not hold
/// throws <see cref="KeyNotFoundException"/>.
/// </summary>
public sealed class EmbeddingTable : ITextEncoder
{
    private readonly Dictionary<string, int> _rows;
    private readonly float[] _vectors;

    private EmbeddingTable(string space, int dimension, List<string> names, Dictionary<string, int> rows, float[] vectors)
    {
        Space = space;
        Dimension = dimension;
        Names = names.AsReadOnly();
        _rows = rows;
        _vectors = vectors;
    }

    /// <inheritdoc />
    public string Space { get; }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <summary>The distinct normalised names, in the order of their first row.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether the table holds <paramref name="name"/> (normalised first).</summary>
    public bool Contains(string name) => _rows.ContainsKey(TagName.Normalise(name));

    /// <inheritdoc />
    public float[] Encode(string name)
    {
        var normalised = TagName.Normalise(name);
        if (!_rows.TryGetValue(normalised, out var row))
        {
            throw new KeyNotFoundException($"'{normalised}' is not in the '{Space}' embedding table ({Names.Count} names); a table can only encode the names it was built with.");
        }

        return _vectors.AsSpan(row * Dimension, Dimension).ToArray();
    }

    /// <summary>
    /// Builds a table from <paramref name="names"/> and their vectors, row-major
    /// (<c>names.Count × dimension</c>). Rows need not be normalised; a zero row is refused.
    /// </summary>
    public static EmbeddingTable FromVectors(string space, IReadOnlyList<string> names, ReadOnlySpan<float> vectors, int dimension)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(space);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if ((long)names.Count * dimension != vectors.Length)
        {
            throw new ArgumentException(
                $"{names.Count} names need {(long)names.Count * dimension} values of dimension {dimension}, but {vectors.Length} were given ({vectors.Length / (double)dimension:0.##} rows).",
                nameof(vectors));
        }

        var kept = new List<string>(names.Count);
        var rows = new Dictionary<string, int>(names.Count, StringComparer.Ordinal);
        var data = new List<float>(vectors.Length);
        var row = new float[dimension];
        for (var i = 0; i < names.Count; i++)
        {
            var name = TagName.Normalise(names[i]);
            if (rows.ContainsKey(name))
            {
                continue;
            }

            vectors.Slice(i * dimension, dimension).CopyTo(row);
            if (!VectorMath.TryNormalise(row))
            {
                throw new ArgumentException($"Row {i} ('{name}') of the '{space}' table has zero or non-finite norm and cannot be normalised.", nameof(vectors));
            }

            rows.Add(name, kept.Count);
            kept.Add(name);
            data.AddRange(row);
        }

        return new EmbeddingTable(space, dimension, kept, rows, [.. data]);
    }

    /// <summary>
    /// Loads a 2-D <c>.npy</c> array (<c>&lt;f2</c>, <c>&lt;f4</c> or <c>&lt;f8</c>, C order) whose rows are the
    /// vectors of <paramref name="names"/>, in the same order (see <see cref="NameLists"/> for the usual name files).
    /// </summary>
    public static EmbeddingTable FromNpy(string npyPath, IReadOnlyList<string> names, string space)
    {
        ArgumentNullException.ThrowIfNull(npyPath);
        ArgumentNullException.ThrowIfNull(names);
        float[] data;
        int[] shape;
        using (var stream = File.OpenRead(npyPath))
        {
            (data, shape) = Npy.Read(stream);
        }

        if (shape.Length != 2)
        {
            throw new InvalidDataException($"'{npyPath}' holds an array of shape ({string.Join(", ", shape)}); an embedding table needs rows × dimension.");
        }

        if (shape[0] != names.Count)
        {
            throw new InvalidDataException($"'{npyPath}' has {shape[0]} rows but {names.Count} names were given; rows and names must correspond one to one.");
        }

        if (shape[1] < 1)
        {
            throw new InvalidDataException($"'{npyPath}' has vectors of dimension 0.");
        }

        return FromVectors(space, names, data, shape[1]);
    }

    /// <summary>
    /// Loads a table from a JSON file of the form
    /// <code>{"space": "clip-vit-b32", "names": ["person", "red fox"], "vectors": [[0.1, -0.2, ...], [...]]}</code>
    /// where <c>names[i]</c> is the name of <c>vectors[i]</c> and all vectors have the same length
    /// (the dimension). Vectors need not be normalised. Other properties are ignored.
    /// </summary>
    public static EmbeddingTable FromJson(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}' is not a JSON object with 'space', 'names' and 'vectors'.");
        }

        if (!root.TryGetProperty("space", out var spaceElement) || spaceElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(spaceElement.GetString()))
        {
            throw new InvalidDataException($"'{path}' lacks a non-empty string 'space'.");
        }

        if (!root.TryGetProperty("names", out var namesElement) || namesElement.ValueKind != JsonValueKind.Array
            || namesElement.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
        {
            throw new InvalidDataException($"'{path}' lacks 'names', an array of strings.");
        }

        if (!root.TryGetProperty("vectors", out var vectorsElement) || vectorsElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"'{path}' lacks 'vectors', an array of number arrays.");
        }

        var names = namesElement.EnumerateArray().Select(n => n.GetString()!).ToList();
        var rowCount = vectorsElement.GetArrayLength();
        if (rowCount != names.Count)
        {
            throw new InvalidDataException($"'{path}' has {names.Count} names but {rowCount} vectors; they must correspond one to one.");
        }

        var dimension = -1;
        var data = new List<float>();
        var r = 0;
        foreach (var vector in vectorsElement.EnumerateArray())
        {
            if (vector.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"Vector {r} in '{path}' is not an array of numbers.");
            }

            var length = vector.GetArrayLength();
            if (dimension < 0)
            {
                dimension = length;
            }
            else if (length != dimension)
            {
                throw new InvalidDataException($"Vector {r} in '{path}' has {length} values; vector 0 has {dimension}.");
            }

            foreach (var value in vector.EnumerateArray())
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetSingle(out var x))
                {
                    throw new InvalidDataException($"Vector {r} in '{path}' holds a non-number: {value.GetRawText()}.");
                }

                data.Add(x);
            }

            r++;
        }

        if (dimension < 1)
        {
            throw new InvalidDataException($"'{path}' holds no vectors, or empty ones; the dimension is unknown.");
        }

        try
        {
            return FromVectors(spaceElement.GetString()!, names, data.ToArray(), dimension);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"'{path}': {ex.Message}"), ex);
        }
    }

    /// <summary>
    /// The union of tables in one space (ScaleDet's unified label space): every name of every table,
    /// in order; a name held by several tables keeps the row of the first.
    /// </summary>
    /// <exception cref="VocabularySpaceMismatchException">The tables are in different spaces.</exception>
    public static EmbeddingTable Union(IEnumerable<EmbeddingTable> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        var list = tables.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("The union of no tables has no space.", nameof(tables));
        }

        var first = list[0];
        var names = new List<string>();
        var data = new List<float>();
        foreach (var table in list)
        {
            if (!string.Equals(table.Space, first.Space, StringComparison.Ordinal))
            {
                throw new VocabularySpaceMismatchException(table.Space, first.Space);
            }

            if (table.Dimension != first.Dimension)
            {
                throw new ArgumentException($"Tables in space '{first.Space}' disagree on the dimension ({table.Dimension} vs {first.Dimension}).", nameof(tables));
            }

            names.AddRange(table.Names);
            data.AddRange(table._vectors);
        }

        return FromVectors(first.Space, names, data.ToArray(), first.Dimension);
    }
}
