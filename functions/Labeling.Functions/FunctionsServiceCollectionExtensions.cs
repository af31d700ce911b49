using Labeling.Detection;
using Labeling.Functions.Batches;
using Labeling.Functions.Control;
using Labeling.Functions.Ingest;
using Labeling.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling;

/// <summary>DI registration of the queue-driven handlers; the backends (blobs, queues, labels database) are registered separately.</summary>
public static class FunctionsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the inbox scanner, the label batch handler, the active-detector provider and the
    /// label worker (taking from the label queues of every dataset priority), the dataset admission and control, with
    /// options bound from the <c>Ingest</c>, <c>LabelBatch</c>, <c>LabelWorker</c>, <c>DatasetAdmission</c>,
    /// <c>DatasetControl</c> and <c>Detector</c> sections of <paramref name="configuration"/>.
    /// </summary>
    public static IServiceCollection AddLabelingFunctions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<IngestOptions>().Bind(configuration.GetSection("Ingest")).ValidatedBy(o => o.Validate()).ValidateOnStart();
        services.AddOptions<LabelBatchOptions>().Bind(configuration.GetSection(LabelBatchOptions.Section)).ValidatedBy(o => o.Validate()).ValidateOnStart();
        services.AddOptions<LabelWorkerOptions>().Bind(configuration.GetSection(LabelWorkerOptions.Section)).ValidatedBy(o => o.Validate()).ValidateOnStart();
        services.AddOptions<DetectorOptions>().Bind(configuration.GetSection(DetectorOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DetectorOptions>, DetectorOptionsValidation>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<InboxScanner>();
        services.TryAddSingleton<Functions.Failures.FailureRecovery>();
        services.TryAddSingleton<LabelIdle>();
        services.TryAddSingleton<IActiveDetector, ActiveDetectorProvider>();
        services.AddOptions<DatasetAdmissionOptions>().Bind(configuration.GetSection(DatasetAdmissionOptions.Section)).ValidatedBy(o => o.Validate()).ValidateOnStart();
        services.TryAddSingleton<DatasetAdmission>();
        services.AddOptions<DatasetControlOptions>().Bind(configuration.GetSection(DatasetControlOptions.Section)).ValidatedBy(o => o.Validate()).ValidateOnStart();
        services.TryAddSingleton<DatasetControl>();
        services.TryAddSingleton<LabelReadiness>();
        services.TryAddSingleton<LabelBatchHandler>();
        services.TryAddSingleton<LabelWorkerMetrics>();
        services.TryAddSingleton<LabelQueues>();
        services.TryAddSingleton(sp =>
        {
            // One queue per dataset priority, highest first (docs/workers.md, "Dataset control").
            var labelQueues = sp.GetRequiredService<LabelQueues>();
            return new LabelWorker(
                labelQueues.Normal,
                sp.GetRequiredService<LabelBatchHandler>(),
                sp.GetRequiredService<LabelReadiness>(),
                sp.GetRequiredService<IOptions<LabelWorkerOptions>>(),
                sp.GetRequiredService<IOptions<LabelBatchOptions>>(),
                sp.GetRequiredService<ILogger<LabelWorker>>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<LabelWorkerMetrics>(),
                labelQueues.ByPriority);
        });
        return services;
    }

    private sealed class DetectorOptionsValidation : IValidateOptions<DetectorOptions>
    {
        public ValidateOptionsResult Validate(string? name, DetectorOptions options) =>
            options.Validate() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }

    // The options classes validate themselves by throwing; the exception's message becomes the start failure, on one line.
    private static OptionsBuilder<T> ValidatedBy<T>(this OptionsBuilder<T> builder, Action<T> validate)
        where T : class
    {
        builder.Services.AddSingleton<IValidateOptions<T>>(new ThrowingValidator<T>(builder.Name, validate));
        return builder;
    }

    private sealed class ThrowingValidator<T>(string? name, Action<T> validate) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? optionsName, T options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            try
            {
                validate(options);
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail(string.Join(' ', e.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)));
            }
        }
    }
}
