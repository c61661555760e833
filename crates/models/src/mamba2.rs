//! One single-head Mamba2 block (SPEC 2.1), replica-native:
//! h + out_proj(GatedRMSNorm(SSD(SiLU(conv(xBC))), z)) with u = RMSNorm(h) and
//! [z | xBC | dt] = in_proj(u).

use crate::activation::softplus;
use burn::module::{Module, Param};
use burn::tensor::{DType, Tensor, backend::Backend};
use msym_config::{ConvKind, Mamba2Config};

use crate::grouped::{linear, linear_grouped, row_product, shift_scalar};
use crate::init::Initializer;
use crate::ops::{conv_silu_rows, conv_ssd_rows, dt_rows, gated_rms_norm, proj_conv_rows, rms_norm, weight_rows};
use crate::params::{ParamVisitor, VisitParams};
use crate::precision::widen;
use crate::probes::{LayerProbe, LayerRecord};
use crate::ssd::ssd_of_xbc;
use crate::switch::{Switch, on_cubecl};

/// RMSNorm epsilon of mamba_ssm.
pub const NORM_EPS: f64 = 1e-5;

static SPLIT_IN_PROJ: Switch = Switch::new("MSYM_SPLIT_IN_PROJ");

/// The last Mamba2 block computed after its SSD for the last position only
/// (MSYM_LAST_POSITION). Why: the loss and accuracy read the last position alone (SPEC 2),
/// and after the SSD every op of a block is per position: z's rows, the gated norm, out_proj
/// and the residual at the other L - 1 positions feed nothing in the last block (nor do the
/// final norm and the head). In fig3's step at depth 4, R = 36 those ops are about 1 ms of
/// 20 (results/bench/session25-h200-2026-11-29, call 1's kernel list). The xBC rows, the conv,
/// dt and the SSD stay whole: the last position's y reads every position's x, B and dt.
/// The same function; the products and the weight gradients' token sums run over fewer
/// rows, so in another order. Left to the default it runs on the CubeCL backends, where the
/// H200 A/B adopted it (1.10x at depth 2, R = 36, 5-epoch losses within 2.1e-7,
/// results/bench/session29-h200-2026-11-29); the CPU backend keeps the full block, whose
/// numbers are the README's. `set` forces it on or off on any backend (the tests).
pub static LAST_POSITION: Switch = Switch::new("MSYM_LAST_POSITION");

/// Whether a model on backend B computes its last block at the last position alone:
/// [`LAST_POSITION`]'s setting, else on where B is a CubeCL backend.
pub fn last_position_here<B: Backend>() -> bool {
    LAST_POSITION.setting().unwrap_or_else(on_cubecl::<B>)
}

/// Turns the split in_proj on or off for this process, on any backend (overrides
/// MSYM_SPLIT_IN_PROJ): z, xBC and dt as three products on row slices of the in_proj weight
/// instead of slices of one product. The same function, other summation orders.
pub fn set_split_in_proj(on: bool) {
    SPLIT_IN_PROJ.set(on);
}

/// Whether the split in_proj is allowed: [`set_split_in_proj`], else MSYM_SPLIT_IN_PROJ, else
/// on. Left to the default it runs only in f32 on a CubeCL backend, where the H200 A/B
/// measured it (1.07x at R = 9, 1.09x at R = 36, results/bench/checks-h200-2026-11-26); the
/// CPU backend keeps the one product, whose speed there is the README's.
pub fn split_in_proj_on() -> bool {
    SPLIT_IN_PROJ.on()
}

/// Layer calls that took the split in_proj so far in this process.
pub fn split_in_proj_calls() -> usize {
    SPLIT_IN_PROJ.calls()
}

/// Whether this layer call splits the in_proj (u: the normed input, whose dtype it reads).
fn split_here<B: Backend>(u: &Tensor<B, 4>) -> bool {
    let on = match SPLIT_IN_PROJ.setting() {
        Some(on) => on,
        None => u.dtype() == DType::F32 && on_cubecl::<B>(),
    };
    if on {
        SPLIT_IN_PROJ.count();
    }
    on
}

/// What in_proj hands the conv stage (shapes: [`Mamba2Block::forward`]'s comments).
enum ConvStage<B: Backend> {
    /// xBC, the conv's input: [R, B, L, E+2N], or grouped [R, G, M/G, E+2N] from the split.
    Input(Tensor<B, 4>),
    /// The conv's output SiLU(conv(xBC)) [R, B, L, E+2N] already, from the fused product +
    /// conv (models::fused_proj_conv), where nothing else reads xBC.
    Output(Tensor<B, 4>),
}

/// What the SSM reads after the conv (SPEC 2.1 variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsmInput {
    /// SiLU(conv(xBC)), the standard block.
    PostConv,
    /// SiLU(conv(xBC)) + xBC (Fig. 7c: a residual path around the conv).
    ResidualAroundConv,
    /// SiLU(conv(xBC)) * xBC (supplementary figure: gated residual).
    GatedResidual,
}

/// Sizes of a block; derived sizes are methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockDims {
    pub d_model: usize,
    pub expand: usize,
    pub d_state: usize,
    pub d_conv: usize,
    pub ssm_input: SsmInput,
    pub conv: ConvKind,
}

impl BlockDims {
    pub fn from_config(c: &Mamba2Config) -> Self {
        let ssm_input = match (c.residual_around_conv, c.gated_residual) {
            (true, _) => SsmInput::ResidualAroundConv,
            (false, true) => SsmInput::GatedResidual,
            (false, false) => SsmInput::PostConv,
        };
        Self {
            d_model: c.d_model,
            expand: c.expand,
            d_state: c.d_state,
            d_conv: c.d_conv,
            ssm_input,
            conv: c.conv,
        }
    }

    /// E = expand * D (one head, head dim = E).
    pub fn d_inner(&self) -> usize {
        self.expand * self.d_model
    }

    /// Channels of the conv: x, B, C.
    pub fn conv_dim(&self) -> usize {
        self.d_inner() + 2 * self.d_state
    }

    /// in_proj output: z, xBC, dt (one head).
    pub fn in_proj_dim(&self) -> usize {
        self.d_inner() + self.conv_dim() + 1
    }
}

#[derive(Module, Debug)]
pub struct Mamba2Block<B: Backend> {
    /// [R, D]
    pub norm: Param<Tensor<B, 2>>,
    /// [R, 2E + 2N + 1, D]
    pub in_proj: Param<Tensor<B, 3>>,
    /// [R, C, K] (PyTorch [C, 1, K]); frozen ones for `all_ones_frozen`
    pub conv_weight: Param<Tensor<B, 3>>,
    /// [R, C]
    pub conv_bias: Param<Tensor<B, 2>>,
    /// [R, 1]
    pub dt_bias: Param<Tensor<B, 2>>,
    /// [R, 1]
    pub a_log: Param<Tensor<B, 2>>,
    /// [R, 1]
    pub d: Param<Tensor<B, 2>>,
    /// Gated RMSNorm weight [R, E]
    pub mixer_norm: Param<Tensor<B, 2>>,
    /// [R, D, E]
    pub out_proj: Param<Tensor<B, 3>>,
    pub dims: BlockDims,
}

impl BlockDims {
    /// Draws a block; `prefix` is its PyTorch name (e.g. "backbone.layers.0").
    pub fn init<B: Backend>(&self, prefix: &str, init: &Initializer<'_>, device: &B::Device) -> Mamba2Block<B> {
        let (r, d, e, c, k) = (
            init.n_replicas(),
            self.d_model,
            self.d_inner(),
            self.conv_dim(),
            self.d_conv,
        );
        let p = |s: &str| format!("{prefix}.mixer.{s}");
        let conv_weight = match self.conv {
            ConvKind::Learned => init.weight(&p("conv1d.weight"), &[c, 1, k], [r, c, k], device),
            // Fig. 5b: a fixed all-ones kernel, excluded from training.
            ConvKind::AllOnesFrozen => init.constant([r, c, k], 1.0, device).set_require_grad(false),
        };
        Mamba2Block {
            norm: init.constant([r, d], 1.0, device),
            in_proj: init.weight(
                &p("in_proj.weight"),
                &[self.in_proj_dim(), d],
                [r, self.in_proj_dim(), d],
                device,
            ),
            conv_weight,
            conv_bias: init.constant([r, c], 0.0, device),
            dt_bias: init.dt_bias(&p("dt_bias"), [r, 1], device),
            a_log: init.a_log(&p("A_log"), [r, 1], device),
            d: init.constant([r, 1], 1.0, device),
            mixer_norm: init.constant([r, e], 1.0, device),
            out_proj: init.weight(&p("out_proj.weight"), &[d, e], [r, d, e], device),
            dims: *self,
        }
    }
}

impl<B: Backend> Mamba2Block<B> {
    /// dt = softplus(dt_raw + dt_bias) [R, B, L] by the plain ops, from in_proj's dt row
    /// dt_raw [R, B, L]. dt and A stay in the master precision: they feed exp(cumsum(A dt)).
    fn dt_of(&self, dt_raw: Tensor<B, 3>) -> Tensor<B, 3> {
        softplus(shift_scalar(widen(dt_raw), widen(self.dt_bias.val())))
    }

    /// h: [R, B, L, D] -> [R, B, L, D]; the record (S, post-conv states, outputs) only when asked.
    pub fn forward(
        &self,
        h: Tensor<B, 4>,
        probe: Option<&LayerProbe<B>>,
        record: bool,
    ) -> (Tensor<B, 4>, Option<LayerRecord<B>>) {
        self.forward_at(h, probe, record, false)
    }

    /// The block's output at the last position alone ([`LAST_POSITION`]), for the last block
    /// of a model whose loss reads only that position (no probe, no record).
    /// h: [R, B, L, D] -> [R, B, 1, D].
    pub fn forward_last(&self, h: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_at(h, None, false, true).0
    }

    /// [`Self::forward`], or with `last_only` everything after the SSD at the last position
    /// alone: h [R, B, L, D] -> [R, B, L', D], L' = 1 with `last_only` (then no record).
    fn forward_at(
        &self,
        h: Tensor<B, 4>,
        probe: Option<&LayerProbe<B>>,
        record: bool,
        last_only: bool,
    ) -> (Tensor<B, 4>, Option<LayerRecord<B>>) {
        let [r, bsz, l, _] = h.dims();
        // the positions kept after the SSD: all, or the last ([R, B, 1, *])
        let kept = |x: Tensor<B, 4>| if last_only { x.narrow(2, l - 1, 1) } else { x };
        let (e, c) = (self.dims.d_inner(), self.dims.conv_dim());
        let u = rms_norm(h.clone(), self.norm.val(), NORM_EPS); // [R, B, L, D]
        let w = self.in_proj.val(); // [R, 2E+2N+1, D]: the rows of z, xBC, dt
        let (z, stage, dt) = if split_here(&u) {
            // three products on row slices of the weight: the gradient of a sliced
            // [R, B, L, 2E+2N+1] output is assembled from zeros in full size (three fills, two
            // adds and a copy: 4.5 ms a layer at R = 36 on an H200), a sliced weight's only in
            // the weight's size. dt's row is a row_product (CubeCL's matmul refuses it).
            let d = w.dims()[2];
            let wx = weight_rows(&w, e, c); // [R, C, D]
            // the xBC rows and the conv in one kernel where nothing but the conv reads xBC
            let fused_post = (self.dims.ssm_input == SsmInput::PostConv)
                .then(|| proj_conv_rows(&u, &wx, &self.conv_weight.val(), &self.conv_bias.val()))
                .flatten();
            let stage = match fused_post {
                Some(post) => ConvStage::Output(post),
                // xbc left grouped [R, G, M/G, C], as conv_silu_rows reads it: on CUDA its rows
                // are pitched (320 floats padded to 384), and a reshape to [R, B, L, C] copies
                // it (1.2 ms a layer at R = 36, results/bench/paths-h200-2026-11-27)
                None => ConvStage::Input(linear_grouped(u.clone().reshape([r, bsz * l, d]), wx)),
            };
            let z = linear(kept(u.clone()), weight_rows(&w, 0, e));
            // dt's row, its bias and the softplus in one kernel pair where they run
            let w_dt = weight_rows(&w, e + c, 1).reshape([r, d]);
            let dt = dt_rows(&u, &w_dt, &self.dt_bias.val()).unwrap_or_else(|| self.dt_of(row_product(u, w_dt)));
            (z, stage, dt)
        } else {
            let zxbcdt = linear(u, w); // [R, B, L, 2E+2N+1]
            (
                kept(zxbcdt.clone().narrow(3, 0, e)),
                ConvStage::Input(zxbcdt.clone().narrow(3, e, c)),
                self.dt_of(zxbcdt.narrow(3, e + c, 1).reshape([r, bsz, l])),
            )
        }; // z [R, B, L', E], dt [R, B, L]
        let a = widen(self.a_log.val()).exp().neg(); // [R, 1]
        let d = self.d.val(); // [R, 1]
        let mask = probe.and_then(|p| p.mixing_mask.clone());
        let substitution = probe.and_then(|p| p.substitution.as_ref());
        // the conv and the SSD as one kernel pair, where nothing reads, replaces or adds to
        // the post-conv states between them
        let fused = match &stage {
            ConvStage::Input(xbc)
                if self.dims.ssm_input == SsmInput::PostConv && substitution.is_none() && mask.is_none() && !record =>
            {
                conv_ssd_rows(xbc, l, &self.conv_weight.val(), &self.conv_bias.val(), &dt, &a, &d, e)
            }
            _ => None,
        };
        let (y, s, post) = match fused {
            Some(y) => (y, None, None),
            None => {
                let mut post = match &stage {
                    ConvStage::Output(post) => post.clone(),
                    ConvStage::Input(xbc) => {
                        conv_silu_rows(xbc.clone(), l, self.conv_weight.val(), self.conv_bias.val())
                    }
                }; // [R, B, L, C]
                if let Some(sub) = substitution {
                    let keep = sub.mask.clone().neg().add_scalar(1.0);
                    post = post.mul(keep).add(sub.states.clone().mul(sub.mask.clone()));
                }
                // the variants read xbc: the fused product + conv runs for PostConv only
                let conv_input = || match &stage {
                    ConvStage::Input(xbc) => xbc.clone().reshape([r, bsz, l, c]),
                    ConvStage::Output(_) => unreachable!("the fused product + conv ran for a block variant"),
                };
                let ssm_in = match self.dims.ssm_input {
                    SsmInput::PostConv => post.clone(),
                    SsmInput::ResidualAroundConv => post.clone().add(conv_input()),
                    SsmInput::GatedResidual => post.clone().mul(conv_input()),
                };
                let (y, s) = ssd_of_xbc(ssm_in, e, dt, a, d, record, mask);
                (y, s, Some(post))
            }
        }; // y: [R, B, L, E]
        let gated = gated_rms_norm(kept(y), z, self.mixer_norm.val(), NORM_EPS); // [R, B, L', E]
        let mixer_out = linear(gated, self.out_proj.val()); // [R, B, L', D]
        let out = kept(h).add(mixer_out.clone());
        let rec = record.then(|| LayerRecord {
            mixing: s,
            post_conv: post,
            mixer_out,
            hidden: out.clone(),
        });
        (out, rec)
    }
}

impl<B: Backend> VisitParams<B> for Mamba2Block<B> {
    fn visit_params<V: ParamVisitor<B>>(&mut self, prefix: &str, v: &mut V) {
        let (d, e, c, k) = (
            self.dims.d_model,
            self.dims.d_inner(),
            self.dims.conv_dim(),
            self.dims.d_conv,
        );
        let m = |s: &str| format!("{prefix}.mixer.{s}");
        v.visit(&format!("{prefix}.norm.weight"), &[d], &mut self.norm);
        v.visit(&m("in_proj.weight"), &[self.dims.in_proj_dim(), d], &mut self.in_proj);
        v.visit(&m("conv1d.weight"), &[c, 1, k], &mut self.conv_weight);
        v.visit(&m("conv1d.bias"), &[c], &mut self.conv_bias);
        v.visit(&m("dt_bias"), &[1], &mut self.dt_bias);
        v.visit(&m("A_log"), &[1], &mut self.a_log);
        v.visit(&m("D"), &[1], &mut self.d);
        v.visit(&m("norm.weight"), &[e], &mut self.mixer_norm);
        v.visit(&m("out_proj.weight"), &[d, e], &mut self.out_proj);
    }
}
