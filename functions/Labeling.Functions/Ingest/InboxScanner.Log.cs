using Microsoft.Extensions.Logging;

namespace Labeling.Functions.Ingest;

public sealed partial class InboxScanner
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Inbox scan of {Scope} starting after {Checkpoint}")]
    private partial void LogScanStarting(string scope, string checkpoint);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information,
        Message = "Inbox scan of {Scope} done: {Listed} blobs listed, {Created} images created, {AlreadyRegistered} already registered, {Duplicates} duplicates, {Tags} tags, {Boxes} human boxes, {Messages} label messages, {Problems} problems")]
    private partial void LogScanFinished(string scope, int listed, int created, int alreadyRegistered, int duplicates, int tags, int boxes, int messages, int problems);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Inbox scan: {Problem}")]
    private partial void LogProblem(string problem);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Debug, Message = "Registered {Count} blobs up to {LastName}")]
    private partial void LogBatchRegistered(int count, string lastName);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Debug, Message = "Checkpoint of {Scope} is now {LastName}")]
    private partial void LogCheckpoint(string scope, string lastName);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "{Blob} has the content of image {ImageId}: registered as that image")]
    private partial void LogDuplicate(string blob, long imageId);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Information, Message = "Applied {File}: {Tags} tags, {Boxes} human boxes")]
    private partial void LogMetadataApplied(string file, int tags, int boxes);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Debug, Message = "Sent label batch {Batch} with {Count} images to {Queue}")]
    private partial void LogBatchQueued(Guid batch, int count, string queue);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Information, Message = "{Blob} holds new bytes: image {ImageId} is pending again, its model labels dropped")]
    private partial void LogContentChanged(string blob, long imageId);

    [LoggerMessage(EventId = 3120, Level = LogLevel.Information, Message = "Dataset '{Dataset}' is paused: its pending images are not queued")]
    private partial void LogPausedNotQueued(string dataset);
}
