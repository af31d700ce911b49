using System.Text.Json;

namespace Labeling.Functions.Ingest;

/// <summary>An image entry of a COCO file; <see cref="Split"/> is the entry's own split, else the file's.</summary>
internal sealed record CocoImage(long Id, string FileName, int? Width, int? Height, string? Split);

/// <summary>A COCO annotation: box <c>[x, y, w, h]</c> in pixels.</summary>
internal sealed record CocoAnnotation(long ImageId, long CategoryId, float X, float Y, float Width, float Height, bool Crowd);

/// <summary>
/// The parts of a COCO <c>annotations.json</c> ingest uses: images, annotations, categories. Read streaming with
/// <see cref="Utf8JsonReader"/> over a small buffer, so memory follows the entries kept, not the file: values ingest
/// does not use (<c>segmentation</c>, <c>info</c>, <c>licenses</c>, …) are stepped over token by token. Entries that
/// make no sense (missing fields, a box with no area, an unknown image or category id) are left out and described in
/// <see cref="Errors"/> by their place in the file (<c>annotations[3] (line 12)</c>); the first
/// <see cref="MaxListedErrors"/> are kept, the rest counted in <see cref="MoreErrors"/>.
/// </summary>
internal sealed class CocoAnnotations
{
    /// <summary>Errors kept per file; further ones are only counted.</summary>
    public const int MaxListedErrors = 100;

    /// <summary>Longest single JSON token (a string, a number) accepted; a file with a longer one is refused.</summary>
    public const int MaxTokenBytes = 1024 * 1024;

    private const string NotCoco = "not a COCO file: expected an object with an \"images\" array";

    public List<CocoImage> Images { get; } = [];

    public List<CocoAnnotation> Annotations { get; } = [];

    public Dictionary<long, string> Categories { get; } = [];

    public List<string> Errors { get; } = [];

    /// <summary>Errors past <see cref="MaxListedErrors"/>, counted but not listed.</summary>
    public int MoreErrors { get; private set; }

    /// <summary>
    /// Parses a COCO file. Throws <see cref="JsonException"/> (with its line and byte in the line) for broken JSON,
    /// nesting deeper than 64 or a truncated file, and <see cref="FormatException"/> for a file that is not COCO at all.
    /// </summary>
    public static async Task<CocoAnnotations> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var parser = new Parser();
        var buffer = new byte[64 * 1024];
        var state = new JsonReaderState(new JsonReaderOptions { MaxDepth = 64 });
        var filled = 0;
        var final = false;
        while (true)
        {
            if (!final)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                final = read == 0;
                filled += read;
            }

            var consumed = parser.Feed(buffer.AsSpan(0, filled), final, ref state);
            if (final)
            {
                break;
            }

            var remaining = filled - consumed;
            if (remaining == buffer.Length)
            {
                // One token fills the whole buffer: grow it, up to the token limit.
                if (buffer.Length >= MaxTokenBytes)
                {
                    throw new FormatException($"line {parser.Line}: one JSON value is longer than {MaxTokenBytes} bytes");
                }

                Array.Resize(ref buffer, buffer.Length * 2);
            }
            else
            {
                buffer.AsSpan(consumed, remaining).CopyTo(buffer);
            }

            filled = remaining;
        }

        return parser.Finish();
    }

    private enum Section
    {
        None,
        Images,
        Annotations,
        Categories,
        Split,
        Other,
    }

    private sealed record RawAnnotation(string Where, long? ImageId, long? CategoryId, double[]? Box, bool Crowd);

    private sealed record RawImage(CocoImage Image, bool HasOwnSplit);

    /// <summary>A token-at-a-time state machine: the reader is a ref struct and cannot live across the awaits that refill the buffer.</summary>
    private sealed class Parser
    {
        private readonly CocoAnnotations _result = new();
        private readonly List<RawImage> _images = [];
        private readonly List<RawAnnotation> _annotations = [];
        private bool _sawImages;
        private string? _fileSplit;
        private Section _section;
        private bool _inArray;
        private int _index;
        private int _skipDepth = -1;

        // The element being read (an image, annotation or category object).
        private string _where = "";
        private string? _field;
        private long? _id;
        private long? _imageId;
        private long? _categoryId;
        private string? _name;
        private bool _nameWrong;
        private int? _width;
        private int? _height;
        private bool _hasSplit;
        private string? _split;
        private bool _crowd;
        private bool _inBox;
        private List<double>? _box;
        private bool _boxWrong;

        // Lines: counted over what each feed consumed, plus the part of the current feed before the element.
        private long _lineBase = 1;
        private int _counted;

        public long Line => _lineBase;

        public int Feed(ReadOnlySpan<byte> data, bool final, ref JsonReaderState state)
        {
            var reader = new Utf8JsonReader(data, final, state);
            _counted = 0;
            while (reader.Read())
            {
                Handle(ref reader, data);
            }

            state = reader.CurrentState;
            var consumed = (int)reader.BytesConsumed;
            _lineBase += data[_counted..consumed].Count((byte)'\n');
            return consumed;
        }

        private long LineAt(ReadOnlySpan<byte> data, long tokenStart)
        {
            var start = (int)tokenStart;
            if (start > _counted)
            {
                _lineBase += data[_counted..start].Count((byte)'\n');
                _counted = start;
            }

            return _lineBase;
        }

        private void Skip(int depth) => _skipDepth = depth;

        private void Error(string message)
        {
            if (_result.Errors.Count < MaxListedErrors)
            {
                _result.Errors.Add(message);
            }
            else
            {
                _result.MoreErrors++;
            }
        }

        private void Handle(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
        {
            var type = reader.TokenType;
            var depth = reader.CurrentDepth;
            if (_skipDepth >= 0)
            {
                if (type is JsonTokenType.EndObject or JsonTokenType.EndArray && depth == _skipDepth)
                {
                    _skipDepth = -1;
                }

                return;
            }

            switch (depth)
            {
                case 0:
                    if (type is not (JsonTokenType.StartObject or JsonTokenType.EndObject))
                    {
                        throw new FormatException(NotCoco);
                    }

                    return;
                case 1:
                    RootMember(ref reader);
                    return;
                case 2:
                    Element(ref reader, data);
                    return;
                case 3:
                    Field(ref reader);
                    return;
                case 4 when _inBox:
                    BoxValue(ref reader);
                    return;
                default:
                    return;
            }
        }

        private void RootMember(ref Utf8JsonReader reader)
        {
            var type = reader.TokenType;
            if (type == JsonTokenType.PropertyName)
            {
                _section = reader.ValueTextEquals("images"u8) ? Section.Images
                    : reader.ValueTextEquals("annotations"u8) ? Section.Annotations
                    : reader.ValueTextEquals("categories"u8) ? Section.Categories
                    : reader.ValueTextEquals("split"u8) ? Section.Split
                    : Section.Other;
                return;
            }

            if (type is JsonTokenType.EndArray or JsonTokenType.EndObject)
            {
                _inArray = false;
                _section = Section.None;
                return;
            }

            var container = type is JsonTokenType.StartArray or JsonTokenType.StartObject;
            switch (_section)
            {
                case Section.Images or Section.Annotations or Section.Categories when type == JsonTokenType.StartArray:
                    _inArray = true;
                    _index = 0;
                    _sawImages |= _section == Section.Images;
                    return;
                case Section.Images:
                    throw new FormatException(NotCoco + ", \"images\" is not an array");
                case Section.Annotations or Section.Categories:
                    Error($"\"{(_section == Section.Annotations ? "annotations" : "categories")}\" must be an array; it is ignored");
                    break;
                case Section.Split:
                    if (type == JsonTokenType.String || type == JsonTokenType.Null)
                    {
                        _fileSplit = ReadSplit(ref reader, "split", out var split) ? split : null;
                    }
                    else
                    {
                        Error("split: \"split\" must be \"train\" or \"val\"");
                    }

                    break;
            }

            if (container)
            {
                Skip(1);
            }
        }

        private void Element(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
        {
            if (!_inArray)
            {
                return;
            }

            var type = reader.TokenType;
            if (type == JsonTokenType.EndObject)
            {
                EndElement();
                return;
            }

            var name = _section switch
            {
                Section.Images => "images",
                Section.Annotations => "annotations",
                _ => "categories",
            };
            _where = $"{name}[{_index++}] (line {LineAt(data, reader.TokenStartIndex)})";
            if (type == JsonTokenType.StartObject)
            {
                _field = null;
                _id = _imageId = _categoryId = null;
                _name = null;
                _nameWrong = false;
                _width = _height = null;
                _hasSplit = false;
                _split = null;
                _crowd = false;
                _inBox = false;
                _box = null;
                _boxWrong = false;
                return;
            }

            Error(_section switch
            {
                Section.Images => $"{_where}: an image needs a numeric \"id\" and a non-empty string \"file_name\"",
                Section.Annotations => $"{_where}: an annotation needs a numeric \"image_id\" and \"category_id\"",
                _ => $"{_where}: a category needs a numeric \"id\" and a string \"name\"",
            });
            if (type == JsonTokenType.StartArray)
            {
                Skip(2);
            }
        }

        private void Field(ref Utf8JsonReader reader)
        {
            var type = reader.TokenType;
            if (type == JsonTokenType.PropertyName)
            {
                _field = reader.GetString();
                return;
            }

            if (type == JsonTokenType.EndArray)
            {
                _inBox = false;
                return;
            }

            switch (_section, _field)
            {
                case (Section.Images or Section.Categories, "id"):
                    _id = Long(ref reader);
                    break;
                case (Section.Images, "file_name") or (Section.Categories, "name"):
                    _name = type == JsonTokenType.String ? reader.GetString() : null;
                    _nameWrong = type != JsonTokenType.String;
                    break;
                case (Section.Images, "width"):
                    _width = Int(ref reader);
                    break;
                case (Section.Images, "height"):
                    _height = Int(ref reader);
                    break;
                case (Section.Images, "split"):
                    _hasSplit = true;
                    if (!ReadSplit(ref reader, _where, out _split))
                    {
                        _hasSplit = false;
                    }

                    break;
                case (Section.Annotations, "image_id"):
                    _imageId = Long(ref reader);
                    break;
                case (Section.Annotations, "category_id"):
                    _categoryId = Long(ref reader);
                    break;
                case (Section.Annotations, "iscrowd"):
                    _crowd = Int(ref reader) is { } c && c != 0;
                    break;
                case (Section.Annotations, "bbox") when type == JsonTokenType.StartArray:
                    _inBox = true;
                    _box = [];
                    _boxWrong = false;
                    return;
                case (Section.Annotations, "bbox"):
                    _box = null;
                    _boxWrong = true;
                    break;
            }

            if (type is JsonTokenType.StartArray or JsonTokenType.StartObject)
            {
                Skip(3);
            }
        }

        private void BoxValue(ref Utf8JsonReader reader)
        {
            if (reader.TokenType == JsonTokenType.Number && _box!.Count < 4)
            {
                _box.Add(reader.GetDouble());
                return;
            }

            // More than four numbers, or anything else: not a box (the rest of the array is stepped over).
            _boxWrong = true;
            if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
            {
                Skip(4);
            }
        }

        private void EndElement()
        {
            switch (_section)
            {
                case Section.Images:
                    if (_id is not { } id || _nameWrong || string.IsNullOrWhiteSpace(_name))
                    {
                        Error($"{_where}: an image needs a numeric \"id\" and a non-empty string \"file_name\"");
                        return;
                    }

                    _images.Add(new RawImage(new CocoImage(id, _name, _width is > 0 ? _width : null, _height is > 0 ? _height : null, _split), _hasSplit));
                    return;
                case Section.Categories:
                    if (_id is not { } categoryId || _nameWrong || _name is null)
                    {
                        Error($"{_where}: a category needs a numeric \"id\" and a string \"name\"");
                    }
                    else if (!_result.Categories.TryAdd(categoryId, _name))
                    {
                        Error($"{_where}: category id {categoryId} appears twice");
                    }

                    return;
                case Section.Annotations:
                    _annotations.Add(new RawAnnotation(_where, _imageId, _categoryId, _boxWrong || _box is not { Count: 4 } ? null : [.. _box], _crowd));
                    return;
            }
        }

        private bool ReadSplit(ref Utf8JsonReader reader, string where, out string? split)
        {
            split = null;
            if (reader.TokenType == JsonTokenType.Null)
            {
                return true;
            }

            var text = reader.TokenType == JsonTokenType.String ? reader.GetString()!.Trim().ToLowerInvariant() : null;
            if (text is "train" or "val")
            {
                split = text;
                return true;
            }

            Error($"{where}: \"split\" must be \"train\" or \"val\"");
            return false;
        }

        private static long? Long(ref Utf8JsonReader reader) =>
            reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : null;

        private static int? Int(ref Utf8JsonReader reader) =>
            reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : null;

        // Annotations are checked once the whole file is read: images and categories may come after them.
        public CocoAnnotations Finish()
        {
            if (!_sawImages)
            {
                throw new FormatException(NotCoco);
            }

            foreach (var (image, hasOwnSplit) in _images)
            {
                _result.Images.Add(hasOwnSplit ? image : image with { Split = _fileSplit });
            }

            var imageIds = _result.Images.Select(i => i.Id).ToHashSet();
            foreach (var a in _annotations)
            {
                if (a.ImageId is not { } imageId || a.CategoryId is not { } categoryId)
                {
                    Error($"{a.Where}: an annotation needs a numeric \"image_id\" and \"category_id\"");
                }
                else if (!imageIds.Contains(imageId))
                {
                    Error($"{a.Where}: image_id {imageId} is not in \"images\"");
                }
                else if (!_result.Categories.ContainsKey(categoryId))
                {
                    Error($"{a.Where}: category_id {categoryId} is not in \"categories\"");
                }
                else if (a.Box is not { } box)
                {
                    Error($"{a.Where}: \"bbox\" must be [x, y, width, height]");
                }
                else
                {
                    var v = box.Select(x => (float)x).ToArray();
                    if (v.Any(x => !float.IsFinite(x)) || v[2] <= 0 || v[3] <= 0)
                    {
                        Error($"{a.Where}: \"bbox\" [{string.Join(", ", v)}] needs finite numbers and a width and height above 0");
                    }
                    else
                    {
                        _result.Annotations.Add(new CocoAnnotation(imageId, categoryId, v[0], v[1], v[2], v[3], a.Crowd));
                    }
                }
            }

            return _result;
        }
    }
}
