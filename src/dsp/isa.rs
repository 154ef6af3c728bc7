//! Which vector instructions the engine's inner loops are compiled for.
//!
//! The loops are written once, over plain slices, so that the compiler spreads them across
//! vector registers. Built for any x86-64 they get SSE2 (four f32 lanes); the engine asks the
//! processor once, when it is made, and runs the same code compiled with AVX-512 (sixteen f32
//! lanes) or with AVX2 and FMA (eight lanes, fused multiply-adds), whichever is the best the
//! processor has. Elsewhere the portable build runs. Hand-written kernels (the coarse
//! network's pairs) ask the processor themselves.

/// An instruction set the engine can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// What every x86-64 processor has (and the only choice on other architectures).
    Baseline,
    /// AVX2 with fused multiply-add.
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    /// AVX-512 (foundation, vector length, double- and quad-word, byte and word) with AVX2 and
    /// fused multiply-add: the same loops over sixteen f32 or eight f64 lanes.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The best this processor offers. Asks the processor: call it outside processing.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                let wide = std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512vl")
                    && std::is_x86_feature_detected!("avx512dq")
                    && std::is_x86_feature_detected!("avx512bw");
                return if wide { Isa::Avx512 } else { Isa::Avx2Fma };
            }
        }
        Isa::Baseline
    }

    /// Whether this processor can run code compiled for this set.
    pub fn available(self) -> bool {
        match self {
            Isa::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => Isa::detect() != Isa::Baseline,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Isa::detect() == Isa::Avx512,
        }
    }

    /// Whether code compiled for this set may use fused multiply-adds.
    pub fn fma(self) -> bool {
        self != Isa::Baseline
    }
}
