using Labeling.Functions.Host;

var builder = WebApplication.CreateBuilder(args);
builder.AddLabelingWorker();
var app = builder.Build();
app.MapLabelingWorkerEndpoints();
await app.RunAsync();
