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
/// 640 KiB) is mmapped and unmapped again, and every use faults its pages in anew. Serving them
/// from the heap, and not trimming it, keeps distributional SAC out of the kernel
/// (docs/benchmarks.md has the measurement).
fn keep_large_buffers_in_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

/// The commands run on a thread of the rayon pool that Flex's matmuls (and the twin critics)
/// split their work over (RAYON_NUM_THREADS threads, default one per core). From the main
/// thread, every split would hand all its parts to the pool and wait: one thread more than
/// cores, woken and put to sleep at every matmul.
fn worker_pool() -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        // The main thread's stack size rather than the 2 MiB of a spawned thread.
        .stack_size(8 << 20)
        .build()
}
