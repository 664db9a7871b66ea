using Gpt2.Distributed;

namespace Gpt2.Samples.Cli;

/// <summary>Joins the <c>mpirun</c> job this process belongs to, if any.</summary>
internal static class MpiJob
{
    /// <summary>This process's index among the job's processes on the same machine (0 outside mpirun).</summary>
    public static int LocalRank => int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_RANK"), out int r) && r >= 0 ? r : 0;

    /// <summary>An <see cref="MpiCommunicator"/> when launched by mpirun, else the single-process communicator.</summary>
    /// <exception cref="UsageException">Launched by mpirun but Open MPI's library cannot be loaded.</exception>
    public static ICommunicator Join(TimeSpan timeout)
    {
        if (!MpiCommunicator.IsLaunchedByMpi)
        {
            return LocalCommunicator.Instance;
        }

        try
        {
            return new MpiCommunicator(timeout);
        }
        catch (DllNotFoundException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
