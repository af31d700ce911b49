using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Ingest;

/// <summary>The ingest limits are validated when a host starts, with a message that names the setting.</summary>
public sealed class IngestOptionsStartTests
{
    [Theory]
    [InlineData("Ingest:MaxImageBytes", "0", "MaxImageBytes")]
    [InlineData("Ingest:MaxImageBytes", "4294967296", "MaxImageBytes")]
    [InlineData("Ingest:MaxTagsPerImage", "0", "MaxTagsPerImage")]
    [InlineData("Ingest:MaxNewClassesPerScan", "-1", "MaxNewClassesPerScan")]
    [InlineData("Ingest:MaxMetadataBytes", "0", "MaxMetadataBytes")]
    public void StartupValidation_RefusesALimitOutOfRange_NamingIt(string key, string value, string named)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        using var services = new ServiceCollection().AddLabelingFunctions(configuration).BuildServiceProvider();

        var validator = services.GetRequiredService<IStartupValidator>();
        var e = Assert.Throws<OptionsValidationException>(validator.Validate);

        var failure = Assert.Single(e.Failures);
        Assert.Contains(named, failure, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure);
    }

    [Fact]
    public void StartupValidation_AcceptsTheDefaults()
    {
        var configuration = new ConfigurationBuilder().Build();
        using var services = new ServiceCollection().AddLabelingFunctions(configuration).BuildServiceProvider();

        services.GetRequiredService<IStartupValidator>().Validate();

        var options = services.GetRequiredService<IOptions<Labeling.Functions.Ingest.IngestOptions>>().Value;
        Assert.Equal((64L * 1024 * 1024, 256, 10_000), (options.MaxImageBytes, options.MaxTagsPerImage, options.MaxNewClassesPerScan));
    }
}
