using Gpt2.Samples;

namespace Gpt2.Tests.Samples;

/// <summary>Runs the <c>gpt2</c> command line in-process and captures what it writes.</summary>
internal static class CliRunner
{
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
