"""The KD term of each method in ``KDSettings.method``, per example (for ``losses.global_mean``).

    'kd'    T² KL(teacher ‖ student)            (Hinton et al. 2015; losses.kd_term)
    'dkd'   T² (α TCKD + β NCKD)                 (Zhao et al. 2022; dkd.py)
    'dist'  τ² (β inter + γ intra), τ = T       (Huang et al. 2022; dist_kd.py)

Each takes the teacher's probabilities at the run's temperature (an ensemble: averaged), so the
teacher pass, the ensemble rule and the cached eval logits are the same for every method. The
Distiller multiplies the term by KD_WEIGHT, so ESKD's schedule switches every method off.
"""

from kd_efficacy import dist_kd, dkd, losses


def term(kd, teacher_probs, student_logits, labels):
    """Per-example KD term of method ``kd.method``; ``labels``: integer ids (DKD's targets)."""
    if kd.method == "dkd":
        return dkd.dkd_term(
            teacher_probs, student_logits, labels, kd.temperature, kd.dkd_alpha, kd.dkd_beta
        )
    if kd.method == "dist":
        return dist_kd.dist_term(
            teacher_probs, student_logits, kd.temperature, kd.dist_beta, kd.dist_gamma
        )
    return losses.kd_term(teacher_probs, student_logits, kd.temperature)
