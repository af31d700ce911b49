using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
namespace Labeling.Hosting;

/// <summary>What else the worker host runs. Bound from the <c>Worker</c> section (the label loop itself is configured under <c>LabelWorker</c> and <c>LabelBatch</c>).</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Run the inbox scan in this process every this often; null (default) leaves scanning to another process.</summary>
    public TimeSpan? ScanInterval { get; set; }
}
