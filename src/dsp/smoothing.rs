//! Parameter smoothing: every continuous value glides towards its target in the domain where
//! equal steps sound equal (dB for levels, log for impedances and frequencies, elastance 1/C
//! for the coupling capacitor so that "DC-coupled" (0) is the far end of the capacitor's range).

use crate::model::Settings;

/// Time constant of the glide, seconds.
pub const SMOOTHING_TIME_S: f64 = 0.010;

#[inline]
fn lin(cur: &mut f64, tgt: f64, a: f64) -> bool {
    *cur += (tgt - *cur) * a;
    if (tgt - *cur).abs() <= 1e-9 * (1.0 + tgt.abs()) {
        *cur = tgt;
        true
    } else {
        false
    }
}

#[inline]
fn log(cur: &mut f64, tgt: f64, a: f64) -> bool {
    let l = cur.ln() + (tgt.ln() - cur.ln()) * a;
    *cur = l.exp();
    if (l - tgt.ln()).abs() <= 1e-9 {
        *cur = tgt;
        true
    } else {
        false
    }
}

/// Coupling capacitor in µF, smoothed as elastance 1/C (0 µF = DC-coupled = elastance 0).
#[inline]
fn capacitor(cur: &mut f64, tgt: f64, a: f64) -> bool {
    let el = |c: f64| if c > 0.0 { 1.0 / c } else { 0.0 };
    let mut e = el(*cur);
    let done = lin(&mut e, el(tgt), a);
    *cur = if done {
        tgt
    } else if e > 0.0 {
        1.0 / e
    } else {
        0.0
    };
    done
}

/// Moves the continuous values of `cur` a fraction `a` towards `tgt`; switches jump.
/// Returns true when every value has arrived.
pub fn glide(cur: &mut Settings, tgt: &Settings, a: f64) -> bool {
    let mut done = true;
    done &= lin(&mut cur.ref_level, tgt.ref_level, a);
    done &= lin(&mut cur.gain, tgt.gain, a);
    done &= log(&mut cur.z_out, tgt.z_out, a);
    done &= capacitor(&mut cur.c_out, tgt.c_out, a);
    done &= log(&mut cur.v_clip, tgt.v_clip, a);
    done &= log(&mut cur.i_max, tgt.i_max, a);
    done &= lin(&mut cur.color, tgt.color, a);
    done &= lin(&mut cur.noise, tgt.noise, a);
    done &= lin(&mut cur.dc_offset, tgt.dc_offset, a);
    done &= lin(&mut cur.cable_len, tgt.cable_len, a);
    done &= lin(&mut cur.cable_r, tgt.cable_r, a);
    done &= lin(&mut cur.cable_c, tgt.cable_c, a);
    done &= lin(&mut cur.hum, tgt.hum, a);
    done &= log(&mut cur.z_load, tgt.z_load, a);
    done &= lin(&mut cur.l_coil, tgt.l_coil, a);
    done &= log(&mut cur.f_res, tgt.f_res, a);
    done &= log(&mut cur.z_peak, tgt.z_peak, a);
    done &= log(&mut cur.q_res, tgt.q_res, a);
    done &= lin(&mut cur.sens, tgt.sens, a);
    done &= log(&mut cur.p_max, tgt.p_max, a);
    done &= lin(&mut cur.in_max, tgt.in_max, a);
    done &= lin(&mut cur.distance, tgt.distance, a);
    done &= lin(&mut cur.spl_ref, tgt.spl_ref, a);
    done &= lin(&mut cur.ceiling, tgt.ceiling, a);
    (
        cur.output,
        cur.load,
        cur.clip_shape,
        cur.mains,
        cur.listen,
        cur.balanced,
    ) = (
        tgt.output,
        tgt.load,
        tgt.clip_shape,
        tgt.mains,
        tgt.listen,
        tgt.balanced,
    );
    done
}
