using System.Diagnostics;
using Gpt2.Backends;
using Gpt2.Model;
using Gpt2.Optimization;

namespace Gpt2.Distributed;

/// <summary>
/// A model's share of data-parallel training, as llm.c does it: identical parameters on every process (broadcast
/// from rank 0), gradients summed after backward (each process scales its loss by 1/processes, so the sum is the
/// mean), and, with ZeRO stage 1, the optimizer state split: gradients are reduce-scattered, each process updates its
/// own range of parameters, and the ranges are all-gathered. Buffers of a host-memory backend are used in place;
/// with a device communicator (NCCL) the collectives on parameters and gradients run on the backend's buffers;
/// otherwise they are staged through one host copy. Scalars (losses, the norm) always go through the host communicator.
/// </summary>
internal sealed class DataParallel
{
    private delegate void HostAction(Span<float> values);

    private readonly Gpt2Model _model;
    private readonly ICommunicator _comm;
    private readonly IDeviceCommunicator? _device;
    private readonly ComputeBackend _be;
    private readonly IHostMemoryBackend? _host;
    private readonly float[]? _staging;
    private readonly float[]? _shard;
    private readonly Stopwatch _communication = new();

    public DataParallel(Gpt2Model model, ICommunicator communicator, IDeviceCommunicator? device, bool shardOptimizer)
    {
        _model = model;
        _comm = communicator;
        _device = device;
        _be = model.Backend;
        _host = model.Backend as IHostMemoryBackend;
        long n = model.Layout.Count;
        if (device is not null && (device.Rank != communicator.Rank || device.Size != communicator.Size))
        {
            throw new ArgumentException($"The device communicator is rank {device.Rank} of {device.Size}, but the job's is rank {communicator.Rank} of {communicator.Size}.", "deviceCommunicator");
        }

        Sharded = shardOptimizer && (communicator.Size > 1 || device is not null);
        Counts = Communicators.Split(n, Sharded ? communicator.Size : 1);
        ShardOffset = Sharded ? Communicators.Offset(Counts, communicator.Rank) : 0;
        ShardLength = Sharded ? Counts[communicator.Rank] : n;
        if (communicator.Size > 1 && _host is null && device is null)
        {
            _staging = new float[n];
        }

        if (Sharded && device is null)
        {
            _shard = new float[ShardLength];
        }
    }

    /// <summary>ZeRO stage 1 is on (and there is more than one process, or a device communicator).</summary>
    public bool Sharded { get; }

    /// <summary>Parameters per rank's shard (one part of all parameters without sharding).</summary>
    public int[] Counts { get; }

    /// <summary>This process's first parameter.</summary>
    public long ShardOffset { get; }

    /// <summary>This process's parameter count.</summary>
    public long ShardLength { get; }

    /// <summary>
    /// Time the host has spent in collectives so far. Device collectives (NCCL) are enqueued on the backend's stream
    /// like its ops, so their device time is part of the step's and only the enqueueing is counted here.
    /// </summary>
    public TimeSpan CommunicationTime => _communication.Elapsed;

    /// <summary>Whether there is anyone to talk to (or a device communicator to run, even alone).</summary>
    public bool IsDistributed => _comm.Size > 1 || _device is not null;

    /// <summary>Makes every process's parameters rank 0's.</summary>
    public void BroadcastParameters()
    {
        if (_device is not null)
        {
            OnDevice(() => _device.Broadcast(_model.Parameters.All, 0));
        }
        else if (IsDistributed)
        {
            OnHost(_model.Parameters.All, download: _comm.Rank == 0, upload: _comm.Rank != 0, values => _comm.Broadcast(values, 0));
        }
    }

    /// <summary>Sums the gradients over processes: all of them, or (sharded) this process's range.</summary>
    public void ReduceGradients()
    {
        if (!IsDistributed)
        {
            return;
        }

        if (_device is not null)
        {
            OnDevice(() =>
            {
                if (Sharded)
                {
                    _device.ReduceScatterSum(_model.Gradients.All, Counts);
                }
                else
                {
                    _device.AllReduceSum(_model.Gradients.All);
                }
            });
            return;
        }

        if (!Sharded)
        {
            OnHost(_model.Gradients.All, download: true, upload: true, _comm.AllReduceSum);
            return;
        }

        OnHost(_model.Gradients.All, download: true, upload: false, values =>
        {
            _comm.ReduceScatterSum(values, _shard, Counts);
        });
        _be.Upload<float>(_shard, Range(_model.Gradients.All));
    }

    /// <summary>Sharded: gives every process the parameters every other process has just updated.</summary>
    public void GatherParameters()
    {
        if (Sharded && _device is not null)
        {
            OnDevice(() => _device.AllGather(_model.Parameters.All, Counts));
        }
        else if (Sharded)
        {
            OnHost(_model.Parameters.All, download: true, upload: true, values => _comm.AllGather(values, Counts));
        }
    }

    /// <summary>The global gradient norm: the optimizer's range's squares, summed over processes when that range is a shard.</summary>
    public float GradientNorm(AdamW adamw)
    {
        float sum = adamw.SumOfSquaredGradients();
        return MathF.Sqrt(Sharded ? Sum(sum) : sum);
    }

    /// <summary>The sum of a number over processes.</summary>
    public float Sum(float value)
    {
        if (_comm.Size == 1)
        {
            return value;
        }

        Span<float> one = [value];
        _communication.Start();
        _comm.AllReduceSum(one);
        _communication.Stop();
        return one[0];
    }

    /// <summary>The full first or second moments (gathered from the shards when sharded).</summary>
    public float[] GatherMoments(DeviceTensor moments)
    {
        var all = new float[_model.Layout.Count];
        _be.Download(moments, all.AsSpan((int)ShardOffset, (int)ShardLength));
        if (Sharded)
        {
            _comm.AllGather(all, Counts);
        }

        return all;
    }

    /// <summary>Loads this process's range of full moments (from a checkpoint).</summary>
    public void ScatterMoments(ReadOnlySpan<float> all, DeviceTensor moments) =>
        _be.Upload(all.Slice((int)ShardOffset, (int)ShardLength), moments);

    /// <summary>Enqueues a device collective after the backend's work, as an op.</summary>
    private void OnDevice(Action collective)
    {
        _communication.Start();
        collective();
        _communication.Stop();
    }

    /// <summary>This process's range of a full parameter-layout vector.</summary>
    private DeviceTensor Range(DeviceTensor all) => all.View(ShardOffset, [checked((int)ShardLength)]);

    private void OnHost(DeviceTensor view, bool download, bool upload, HostAction action)
    {
        _communication.Start();
        try
        {
            RunOnHost(view, download, upload, action);
        }
        finally
        {
            _communication.Stop();
        }
    }

    /// <summary>A host collective on a view: in place in host memory, or through the staging copy.</summary>
    private void RunOnHost(DeviceTensor view, bool download, bool upload, HostAction action)
    {
        _be.Synchronize();
        if (_host is not null)
        {
            action(_host.GetHostSpan<float>(view));
            return;
        }

        var values = _staging.AsSpan(0, (int)view.Length);
        if (download)
        {
            _be.Download(view, values);
        }

        action(values);
        if (upload)
        {
            _be.Upload<float>(values, view);
        }
    }
}
