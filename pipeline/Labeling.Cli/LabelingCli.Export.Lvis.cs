using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Labeling.Labels;
using Labeling.Schema;
using Labeling.Sql;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    /// <summary>
    /// LVIS v1 style (README, "Exports", has the policy for users): the COCO layout plus <c>info</c> and <c>licenses</c>, per image
    /// <c>neg_category_ids</c> and <c>not_exhaustive_category_ids</c>, and per category <c>synset</c>,
    /// <c>frequency</c>, <c>image_count</c> and <c>instance_count</c>. Category ids are the class ids of
    /// the database. Per page of images it reads the images' tags and one aggregate of their boxes
    /// per (image, class); before that, one aggregate gives each dataset's human vocabulary (the
    /// classes with a human box in it). Memory: per class and per (dataset, human class), never per image
    /// beyond a page.
    /// </summary>
    /// <remarks>
    /// The policy, per image (H: classes with a human box on the image, whatever the filters;
    /// E: classes with a box on the image that the filters export; T: the image's tags, any state):
    /// <list type="bullet">
    /// <item><c>not_exhaustive_category_ids</c> = (T ∪ E) − H: present by a tag or a model's box, but
    /// no person drew all of its instances (weak, grounded by pseudo boxes only, not labelled yet, or
    /// a discovered class).</item>
    /// <item><c>neg_category_ids</c>: only for an image with at least one human box (it was annotated
    /// exhaustively by a COCO file, ingest.md): the human vocabulary of its dataset − H − T − E. A missing
    /// tag proves nothing (the schema has no negative tags), so a tag-only image has none.</item>
    /// <item>With <c>--class</c> both lists and the categories hold only that class.</item>
    /// </list>
    /// </remarks>
    private sealed class LvisFormat(ServiceProvider services, BoxQuery query) : DetectionFormat
    {
        private readonly LabelsDatabase _database = services.GetRequiredService<LabelsDatabase>();
        private readonly ILabelStore _store = services.GetRequiredService<ILabelStore>();
        private readonly string? _className = query.ClassName is null ? null : TagName.Normalise(query.ClassName);

        // Dataset id → classes with a human box in that dataset (what its COCO file annotated).
        private readonly Dictionary<long, HashSet<long>> _vocabulary = [];

        // Class id → name, for every class seen; name → class id for the boxes.
        private readonly Dictionary<long, string> _names = [];
        private readonly Dictionary<string, long> _classIds = new(StringComparer.Ordinal);

        // The categories written: every class referenced by an image or a box.
        private readonly SortedDictionary<long, LvisCategory> _categories = [];

        // The lists of the images of the current page.
        private readonly Dictionary<long, (List<long> Negative, List<long> NotExhaustive)> _lists = [];

        public override int Categories => _categories.Count;

        public override async Task BeginAsync(CancellationToken cancellationToken)
        {
            var sql = new StringBuilder(
                """
                SELECT DISTINCT i.dataset_id AS DatasetId, b.class_id AS ClassId, c.name AS ClassName
                FROM boxes b
                JOIN images i ON i.id = b.image_id
                JOIN classes c ON c.id = b.class_id
                """);
            if (query.Dataset is not null)
            {
                sql.Append(" JOIN datasets d ON d.id = i.dataset_id AND d.name = @dataset");
            }

            sql.Append(" WHERE b.source = 'human'");
            if (_className is not null)
            {
                sql.Append(" AND c.name = @className");
            }

            await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken);
            foreach (var row in await connection.QueryAsync<VocabularyRow>(new CommandDefinition(
                sql.ToString(), new { dataset = query.Dataset, className = _className }, cancellationToken: cancellationToken)))
            {
                if (!_vocabulary.TryGetValue(row.DatasetId, out var classes))
                {
                    _vocabulary.Add(row.DatasetId, classes = []);
                }

                classes.Add(row.ClassId);
                Name(row.ClassId, row.ClassName);
            }
        }

        public override void WriteHeader(Utf8JsonWriter json)
        {
            json.WriteStartObject("info");
            json.WriteString("description", "Labeling export (LVIS v1 style)");
            json.WriteString("version", "1.0");
            json.WriteNumber("year", DateTime.UtcNow.Year);
            json.WriteString("date_created", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            json.WriteEndObject();
            json.WriteStartArray("licenses");
            json.WriteEndArray();
        }

        public override async Task ReadImagePageAsync(IReadOnlyList<ExportImage> page, CancellationToken cancellationToken)
        {
            _lists.Clear();
            var ids = page.Select(i => i.Image.Id).ToArray();
            var tags = (await _store.GetTagsAsync(ids, cancellationToken)).ToLookup(t => t.ImageId);
            var boxes = (await ReadBoxSummaryAsync(ids, cancellationToken)).ToLookup(b => b.ImageId);
            foreach (var (image, _, _) in page)
            {
                var human = new HashSet<long>();
                var present = new HashSet<long>(); // T ∪ E
                foreach (var tag in tags[image.Id])
                {
                    Name(tag.ClassId, tag.ClassName);
                    present.Add(tag.ClassId);
                }

                foreach (var box in boxes[image.Id])
                {
                    Name(box.ClassId, box.ClassName);
                    if (box.Human > 0)
                    {
                        human.Add(box.ClassId);
                    }

                    if (box.Exported > 0 && Included(box.ClassId))
                    {
                        present.Add(box.ClassId);
                        var category = Category(box.ClassId);
                        category.ImageCount++;
                        if (image.Split != "val")
                        {
                            category.TrainImageCount++;
                        }
                    }
                }

                var negative = new List<long>();
                if (human.Count > 0 && _vocabulary.TryGetValue(image.DatasetId, out var vocabulary))
                {
                    negative.AddRange(vocabulary.Where(c => !human.Contains(c) && !present.Contains(c) && Included(c)));
                }

                var notExhaustive = present.Where(c => !human.Contains(c) && Included(c)).ToList();
                negative.Sort();
                notExhaustive.Sort();
                foreach (var c in negative.Concat(notExhaustive))
                {
                    Category(c);
                }

                _lists[image.Id] = (negative, notExhaustive);
            }
        }

        public override void WriteImageFields(Utf8JsonWriter json, ExportImage image)
        {
            var (negative, notExhaustive) = _lists[image.Image.Id];
            json.WriteString("coco_url", image.Image.BlobPath);
            json.WriteStartArray("neg_category_ids");
            negative.ForEach(json.WriteNumberValue);
            json.WriteEndArray();
            json.WriteStartArray("not_exhaustive_category_ids");
            notExhaustive.ForEach(json.WriteNumberValue);
            json.WriteEndArray();
        }

        public override long? CategoryId(BoxRow box)
        {
            if (!_classIds.TryGetValue(box.ClassName, out var classId))
            {
                return null;
            }

            Category(classId).InstanceCount++;
            return classId;
        }

        public override void WriteCategories(Utf8JsonWriter json)
        {
            foreach (var (id, category) in _categories)
            {
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("name", category.Name);
                json.WriteString("synset", category.Name.Replace(' ', '_'));
                json.WriteStartArray("synonyms");
                json.WriteStringValue(category.Name);
                json.WriteEndArray();
                json.WriteString("def", "");
                json.WriteString("frequency", category.TrainImageCount switch
                {
                    <= 10 => "r",
                    <= 100 => "c",
                    _ => "f",
                });
                json.WriteNumber("image_count", category.ImageCount);
                json.WriteNumber("instance_count", category.InstanceCount);
                json.WriteEndObject();
            }
        }

        private bool Included(long classId) => _className is null || _names[classId] == _className;

        private void Name(long classId, string name)
        {
            _names[classId] = name;
            _classIds[name] = classId;
        }

        private LvisCategory Category(long classId)
        {
            if (!_categories.TryGetValue(classId, out var category))
            {
                _categories.Add(classId, category = new LvisCategory(_names[classId]));
            }

            return category;
        }

        /// <summary>
        /// Per (image, class) of the given images: how many human boxes (whatever the filters) and how
        /// many boxes the export's filters keep (the same filters as <see cref="ILabelStore.QueryBoxesAsync"/>;
        /// the dataset filter already chose the images).
        /// </summary>
        private async Task<IEnumerable<BoxSummaryRow>> ReadBoxSummaryAsync(long[] imageIds, CancellationToken cancellationToken)
        {
            var filters = new List<string>();
            var parameters = new DynamicParameters();
            parameters.Add("ids", imageIds);
            if (_className is not null)
            {
                filters.Add("c.name = @className");
                parameters.Add("className", _className);
            }

            if (query.MinScore is { } minScore)
            {
                filters.Add("b.score >= @minScore");
                parameters.Add("minScore", minScore);
            }

            if (query.Source is { } source)
            {
                filters.Add("b.source = @source");
                parameters.Add("source", source.ToString().ToLowerInvariant());
            }

            if (query.ModelVersion is not null)
            {
                filters.Add("m.version = @modelVersion");
                parameters.Add("modelVersion", query.ModelVersion);
            }

            var exported = filters.Count == 0 ? "1 = 1" : string.Join(" AND ", filters);
            var inList = _database.Provider == DatabaseProvider.Postgres ? "b.image_id = ANY(@ids)" : "b.image_id IN @ids";
            await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken);
            return await connection.QueryAsync<BoxSummaryRow>(new CommandDefinition(
                $"""
                SELECT b.image_id AS ImageId, b.class_id AS ClassId, c.name AS ClassName,
                       COUNT(CASE WHEN b.source = 'human' THEN 1 END) AS Human,
                       COUNT(CASE WHEN {exported} THEN 1 END) AS Exported
                FROM boxes b
                JOIN classes c ON c.id = b.class_id
                LEFT JOIN models m ON m.id = b.model_id
                WHERE {inList}
                GROUP BY b.image_id, b.class_id, c.name
                """,
                parameters, cancellationToken: cancellationToken));
        }

        private sealed class LvisCategory(string name)
        {
            public string Name { get; } = name;

            public long ImageCount { get; set; }

            public long TrainImageCount { get; set; }

            public long InstanceCount { get; set; }
        }

        private sealed class VocabularyRow
        {
            public long DatasetId { get; set; }
            public long ClassId { get; set; }
            public string ClassName { get; set; } = "";
        }

        private sealed class BoxSummaryRow
        {
            public long ImageId { get; set; }
            public long ClassId { get; set; }
            public string ClassName { get; set; } = "";
            public long Human { get; set; }
            public long Exported { get; set; }
        }
    }
}
