fn main() -> std::process::ExitCode {
    keep_large_buffers_in_the_heap();
    match worker_pool() {
        Ok(pool) => pool.install(agents::cli::main),
        Err(error) => {
            eprintln!("error: cannot start the worker threads: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Burn's Flex backend allocates a fresh buffer for every tensor op. With glibc's default
/// thresholds each buffer over 128 KiB (a [256, 25, 25] f32 tensor of the quantile loss is
/// 640 KiB) is mmapped and unmapped again, and every use faults its pages in anew: distributional
/// SAC spent 40 % of its time in the kernel. Serving them from the heap, and not trimming it, made
/// its update 1.8x faster (measured on RiskyPendulum-v1; SAC unchanged).
fn keep_large_buffers_in_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

/// The commands run on a thread of the rayon pool that Flex's matmuls (and the twin critics)
/// split their work over (RAYON_NUM_THREADS threads, default one per core). Run from the main
/// thread instead, every split handed all its parts to the pool's threads and the main thread
/// waited: one thread more than cores, woken and put to sleep at every matmul. On 2 cores a SAC
/// step took 8.9 ms that way and 7.4 ms this way, with the same results.
fn worker_pool() -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        // The main thread's stack size rather than the 2 MiB of a spawned thread.
        .stack_size(8 << 20)
        .build()
}
