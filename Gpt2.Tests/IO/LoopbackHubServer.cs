using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Gpt2.Tests.IO;

/// <summary>
/// A small HTTP/1.1 server on 127.0.0.1 that behaves like the Hugging Face hub for downloads: HEAD and GET on
/// <c>/{repo}/resolve/main/{file}</c> answer 302 to its storage path with <c>X-Linked-Size</c> and <c>X-Linked-Etag</c>
/// (SHA-256), and the storage path serves the bytes, honouring <c>Range: bytes=N-</c> with 206. It can cut the first
/// transfer short and announce a wrong size or hash, to test resume and the checks.
/// </summary>
internal sealed class LoopbackHubServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _pages = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _cuts;

    public LoopbackHubServer()
    {
        _listener.Start();
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _loop = Task.Run(AcceptAsync);
    }

    public Uri Endpoint { get; }

    /// <summary>How many transfers to cut short, and after how many body bytes.</summary>
    public (int Count, int Bytes) Cut { get; set; }

    /// <summary>A size to announce instead of the real one.</summary>
    public long? AnnouncedSize { get; set; }

    /// <summary>A SHA-256 to announce instead of the real one.</summary>
    public string? AnnouncedSha256 { get; set; }

    /// <summary>Request lines received, with their Range header when present.</summary>
    public List<string> Requests { get; } = [];

    public void Add(string repository, string file, byte[] content) => _files[$"/{repository}/resolve/main/{file}"] = content;

    /// <summary>A page served as is at a path (an API answer such as a file listing).</summary>
    public void AddPage(string path, byte[] content) => _pages[path] = content;

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    await ServeAsync(client.GetStream());
                }
                catch (IOException)
                {
                    // the client hung up
                }
            }
        }
    }

    private async Task ServeAsync(NetworkStream stream)
    {
        var reader = new StreamReader(stream, Encoding.ASCII, false, 1, leaveOpen: true);
        string? requestLine = await reader.ReadLineAsync();
        if (requestLine is null)
        {
            return;
        }

        long from = 0;
        for (string? line; !string.IsNullOrEmpty(line = await reader.ReadLineAsync());)
        {
            if (line.StartsWith("Range: bytes=", StringComparison.OrdinalIgnoreCase))
            {
                from = long.Parse(line["Range: bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        lock (Requests)
        {
            Requests.Add(from > 0 ? $"{requestLine} from {from}" : requestLine);
        }

        string[] parts = requestLine.Split(' ');
        string method = parts[0], path = parts[1];
        if (_pages.TryGetValue(path, out var page))
        {
            await WriteAsync(stream, $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {page.Length}\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(page);
            return;
        }

        const string Storage = "/storage";
        bool stored = path.StartsWith(Storage, StringComparison.Ordinal);
        if (!_files.TryGetValue(stored ? path[Storage.Length..] : path, out var content))
        {
            await WriteAsync(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        }

        if (!stored)
        {
            string sha = AnnouncedSha256 ?? Convert.ToHexStringLower(SHA256.HashData(content));
            await WriteAsync(stream, $"HTTP/1.1 302 Found\r\nLocation: {Storage}{path}\r\nX-Linked-Size: {AnnouncedSize ?? content.Length}\r\n" +
                $"X-Linked-Etag: \"{sha}\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        }

        long length = content.Length - from;
        string status = from > 0 ? $"206 Partial Content\r\nContent-Range: bytes {from}-{content.Length - 1}/{content.Length}" : "200 OK";
        await WriteAsync(stream, $"HTTP/1.1 {status}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
        if (method == "HEAD")
        {
            return;
        }

        int send = (int)length;
        if (Cut.Count > 0 && Interlocked.Increment(ref _cuts) <= Cut.Count)
        {
            send = Math.Min(send, Cut.Bytes);
        }

        await stream.WriteAsync(content.AsMemory((int)from, send));
        await stream.FlushAsync();
    }

    private static Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();
}
