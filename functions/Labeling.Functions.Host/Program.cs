using Labeling.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddLabelingWorker();
var app = builder.Build();
app.MapLabelingWorkerEndpoints();
await app.RunAsync();
