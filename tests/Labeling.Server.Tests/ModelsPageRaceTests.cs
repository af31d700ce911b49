using System.Net;
using Labeling.Labels;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Server.Tests;

/// <summary>
/// The Models page's commands posted twice, or from a stale page (issue 16): each job names the model it acts on and acts
/// only while that model is still in the state the button saw; otherwise it changes nothing and says why.
/// </summary>
public sealed partial class ModelsPageTests
{
    [Fact]
    public async Task TwoRollbacksOfTheSameModelAtOnce_ActOnce_AndThePreviousModelIsNotRejected()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.AddModelAsync("v2");
        await _workspace.AddModelAsync("v3");
        var (app, address) = await _workspace.StartHostAsync();

        var codes = await PostAtOnceAsync(address, "/hangfire/models/rollback/v3");

        // The second is refused at once (422) when the first job already ran, else it is queued and its job does nothing.
        Assert.All(codes, code => Assert.True(code is HttpStatusCode.NoContent or (HttpStatusCode)422, $"{code}"));
        var results = await WaitForJobsAsync(app, nameof(LabelingJobs.RollbackAsync), codes.Count(c => c == HttpStatusCode.NoContent));
        var store = app.Services.GetRequiredService<ILabelStore>();
        var states = (await store.ListModelsAsync(Ct)).Select(m => $"{m.Version}={m.Status.ToString().ToLowerInvariant()}({m.StatusReason})");
        Assert.Equal(["v1=retired()", "v2=active()", "v3=rejected(rolled back)"], states);
        Assert.Single(results, r => r.StartsWith("v2 is active again; v3 is rejected (rolled back).", StringComparison.Ordinal));
        Assert.All(results.Where(r => !r.StartsWith("v2 is active again", StringComparison.Ordinal)),
            r => Assert.Equal("v3 is no longer the active model (v2 is): nothing rolled back.", r));

        // The job that loses the race, whichever order they ran in, names the model and changes nothing.
        using var scope = app.Services.CreateScope();
        Assert.Equal("v3 is no longer the active model (v2 is): nothing rolled back.", await scope.ServiceProvider.GetRequiredService<LabelingJobs>().RollbackAsync("v3", Ct));
        Assert.Equal("v2", (await store.GetActiveModelAsync(Ct))?.Version);
    }

    [Fact]
    public async Task TwoPromotionsOfTheSameModelAtOnce_ActOnce()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.AddModelAsync("v2", activate: false);
        var (app, address) = await _workspace.StartHostAsync();

        var codes = await PostAtOnceAsync(address, "/hangfire/models/promote/v2");

        Assert.All(codes, code => Assert.True(code is HttpStatusCode.NoContent or (HttpStatusCode)422, $"{code}"));
        var results = await WaitForJobsAsync(app, nameof(LabelingJobs.PromoteAsync), codes.Count(c => c == HttpStatusCode.NoContent));
        var store = app.Services.GetRequiredService<ILabelStore>();
        Assert.Equal(["v1=retired", "v2=active"], (await store.ListModelsAsync(Ct)).Select(m => $"{m.Version}={m.Status.ToString().ToLowerInvariant()}"));
        Assert.Single(results, r => r.StartsWith("v2 promoted by hand.", StringComparison.Ordinal));
        Assert.All(results.Where(r => !r.StartsWith("v2 promoted by hand.", StringComparison.Ordinal)),
            r => Assert.Equal("v2 is active already: nothing changed.", r));

        // A promote posted now is a stale page (v2 is active), and the job run late changes nothing.
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/models/promote/v2"));
        using var scope = app.Services.CreateScope();
        Assert.Equal("v2 is active already: nothing changed.", await scope.ServiceProvider.GetRequiredService<LabelingJobs>().PromoteAsync("v2", Ct));
    }

    [Fact]
    public async Task RejectOfAModelThatIsNoLongerACandidate_IsAStalePage_AndItsJobChangesNothing()
    {
        await _workspace.AddModelAsync("v1");
        await _workspace.AddModelAsync("v2", activate: false);
        var (app, address) = await _workspace.StartHostAsync();
        using var http = new HttpClient { BaseAddress = address };
        Assert.Contains("/hangfire/models/reject/v2", await http.GetStringAsync("/hangfire/models", Ct), StringComparison.Ordinal);

        // Meanwhile v2 was promoted and v1 made active again: v2 is the model a rollback would return to.
        await _workspace.CliAsync("models", "activate", "v2");
        await _workspace.CliAsync("models", "activate", "v1");

        Assert.Equal((HttpStatusCode)422, await DashboardCommand.PostAsync(http, "/hangfire/models/reject/v2"));
        var store = app.Services.GetRequiredService<ILabelStore>();
        Assert.Equal(ModelStatus.Retired, (await store.GetModelAsync("v2", Ct))?.Status);
        Assert.DoesNotContain(Jobs(app), j => j.Method == nameof(LabelingJobs.RejectAsync));

        // The job, had it been queued while v2 was still a candidate, leaves the retired v2 alone.
        using var scope = app.Services.CreateScope();
        Assert.Equal("v2 is no longer a candidate (it is retired): nothing changed.", await scope.ServiceProvider.GetRequiredService<LabelingJobs>().RejectAsync("v2", Ct));
        Assert.Equal(ModelStatus.Retired, (await store.GetModelAsync("v2", Ct))?.Status);
    }

    /// <summary>Posts <paramref name="path"/> from two clients (two tabs, or two people, each with its own antiforgery cookie) at once.</summary>
    private static async Task<HttpStatusCode[]> PostAtOnceAsync(Uri address, string path)
    {
        using var first = new HttpClient { BaseAddress = address };
        using var second = new HttpClient { BaseAddress = address };
        return await Task.WhenAll(DashboardCommand.PostAsync(first, path), DashboardCommand.PostAsync(second, path));
    }

    /// <summary>Waits until <paramref name="count"/> jobs that ran <paramref name="method"/> have finished and none is left; their results.</summary>
    private static async Task<List<string>> WaitForJobsAsync(WebApplication app, string method, int count)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var jobs = Jobs(app).Where(j => j.Method == method).ToList();
            if (jobs.Count(j => j.Succeeded is not null) >= count && jobs.All(j => j.Succeeded is not null))
            {
                Assert.All(jobs, j => Assert.True(j.Succeeded, j.Result));
                return [.. jobs.Select(j => j.Result ?? "")];
            }

            Assert.True(DateTime.UtcNow < deadline, $"{jobs.Count(j => j.Succeeded is not null)} of {count} {method} job(s) finished after a minute; jobs: {string.Join("; ", jobs)}");
            await Task.Delay(100, Ct);
        }
    }
}
