//! Shipped configs load; each malformed config in tests/bad-configs fails with the one
//! sentence its first line (`# expect: ...`) names; overrides and resolution behave.

use std::path::{Path, PathBuf};

use msym_config::{ConfigError, ExperimentConfig, InitRule, ModelConfig, load, to_resolved_toml};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_config_loads_and_validates() {
    let files = toml_files(&repo().join("configs"));
    assert!(!files.is_empty());
    for f in files {
        load(&f, &[]).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_bad_config_fails_with_its_expected_sentence() {
    let files = toml_files(&repo().join("tests/bad-configs"));
    assert!(files.len() >= 12, "{files:?}");
    let mut wrong = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("first line: # expect: ...");
        let err = load(&f, &[])
            .expect_err(&format!("{} should fail", f.display()))
            .to_string();
        let names_file = err.contains(f.file_name().unwrap().to_str().unwrap());
        if !err.contains(expect) || err.contains('\n') || !names_file {
            wrong.push(format!("{}:\n  got      {err}\n  expected {expect}", f.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn unreadable_file_is_one_sentence() {
    let err = load(Path::new("no/such/config.toml"), &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert_eq!(
        err.to_string(),
        "cannot read config file 'no/such/config.toml': No such file or directory (os error 2)"
    );
}

#[test]
fn overrides_apply_before_validation() {
    let f = repo().join("configs/composite.toml");
    let cfg = load(&f, &["init.gamma=0.5".into(), "seed=3".into(), "model.depth=7".into()]).unwrap();
    assert_eq!((cfg.init.gamma, cfg.seed, cfg.model.depth()), (0.5, 3, 7));
    assert_eq!(cfg.data_seed(), 3, "the data seed follows the run seed by default");
    let err = load(&f, &["init.gamma=-1".into()]).unwrap_err().to_string();
    assert!(err.contains("init.gamma = -1: must be > 0"), "{err}");
    let err = load(&f, &["model.d_modle=4".into()]).unwrap_err().to_string();
    assert!(
        err.contains("after the --set overrides: unknown field `d_modle`"),
        "{err}"
    );
    let err = load(&f, &["init.gamma=abc".into()]).unwrap_err().to_string();
    assert!(
        err.contains("after the --set overrides") && err.contains("abc"),
        "{err}"
    );
    // Switching the architecture keeps the other architecture's fields out.
    let err = load(&f, &["model.kind=transformer".into()]).unwrap_err().to_string();
    assert!(err.contains("unknown field `conv`"), "{err}");
}

#[test]
fn resolution_makes_model_dependent_defaults_explicit() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("min.toml");
    std::fs::write(&f, "[task]\nkind = \"composite\"\n").unwrap();
    let mamba = load(&f, &[]).unwrap();
    assert_eq!(mamba.init.rule, Some(InitRule::FirstDim));
    assert_eq!(mamba.train.batch_size, Some(2048));
    let tf = load(&f, &["model.kind=transformer".into(), "model.d_model=64".into()]).unwrap();
    assert_eq!(
        tf.init.rule,
        Some(InitRule::FanIn),
        "the Transformer follows the 2024 paper's code"
    );
    assert!(matches!(tf.model, ModelConfig::Transformer(ref t) if t.d_model == 64 && t.d_k == 200));
    let inv = load(&f, &["task.kind=inverse_matching".into()]).unwrap();
    assert_eq!(inv.train.batch_size, Some(1024));
}

#[test]
fn the_resolved_config_reloads_to_the_same_experiment() {
    let f = repo().join("configs/composite.toml");
    let sets = vec!["init.gamma=0.3".to_string()];
    let cfg = load(&f, &sets).unwrap();
    let text = to_resolved_toml(&cfg, &f, &sets);
    assert!(text.contains("# --set init.gamma=0.3"));
    let dir = tempfile::tempdir().unwrap();
    let resolved = dir.path().join("config.resolved.toml");
    std::fs::write(&resolved, &text).unwrap();
    let again: ExperimentConfig = load(&resolved, &[]).unwrap();
    assert_eq!(again, cfg);
    assert!(
        text.contains("data_seed = 1") && text.contains("rule = \"first_dim\""),
        "{text}"
    );
}

#[test]
fn a_sweep_expands_to_resolved_cells_with_content_ids() {
    let f = repo().join("configs/sweep_quick.toml");
    let cells = msym_config::expand(&f, &[]).unwrap();
    assert_eq!(cells.len(), 12);
    assert_eq!(cells[0].sets, vec!["init.gamma=0.5", "model.depth=1", "seed=1"]);
    let ids: std::collections::BTreeSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 12, "distinct configs, distinct ids");
    for c in &cells {
        assert!(c.config.sweep.is_none());
        assert_eq!(
            c.config.data_seed(),
            c.config.seed,
            "the data seed follows each cell's seed"
        );
    }
    // The id depends on the content only: the same cell from --set has the same id.
    let again = msym_config::expand(&f, &["train.epochs=3".into()]).unwrap();
    assert_eq!(again[5].id, cells[5].id);
    let other = msym_config::expand(&f, &["train.epochs=4".into()]).unwrap();
    assert_ne!(other[5].id, cells[5].id);
    let err = msym_config::expand(&f, &["sweep.grid.seed=[]".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs at least one value"), "{err}");
}

#[test]
fn figure_is_optional_and_leaves_ids_of_configs_without_it_unchanged() {
    let f = repo().join("configs/sweep_quick.toml");
    let plain = msym_config::expand(&f, &[]).unwrap();
    assert_eq!(plain[0].config.figure, None);
    let text = to_resolved_toml(&plain[0].config, &f, &[]);
    assert!(!text.contains("figure"), "an absent figure is not written:\n{text}");
    let named = msym_config::expand(&f, &["figure=\"fig3\"".into()]).unwrap();
    assert_eq!(named[0].config.figure.as_deref(), Some("fig3"));
    assert_ne!(
        named[0].id, plain[0].id,
        "the figure is part of the experiment's identity"
    );
    let text = to_resolved_toml(&named[0].config, &f, &[]);
    let back: ExperimentConfig = toml::from_str(&text).unwrap();
    assert_eq!(back, named[0].config);
}

#[test]
fn variants_multiply_the_grid_set_fields_together_and_refuse_bad_names() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("variants.toml");
    let smoke = std::fs::read_to_string(repo().join("configs/smoke.toml")).unwrap();
    let write = |sweep: &str| std::fs::write(&f, format!("{smoke}\n[sweep]\n{sweep}\n")).unwrap();
    write(
        "grid = { seed = [1, 2] }\n\
         variants.standard = {}\n\
         variants.attn = { model = { kind = \"transformer\", depth = 1, d_model = 8, d_k = 8, d_v = 8, d_ff = 8 }, \"init.gamma\" = 0.5 }",
    );
    let cells = msym_config::expand(&f, &[]).unwrap();
    let sets: Vec<String> = cells.iter().map(|c| c.sets.join(";")).collect();
    assert_eq!(
        sets,
        [
            "variant=attn;seed=1",
            "variant=attn;seed=2",
            "variant=standard;seed=1",
            "variant=standard;seed=2"
        ]
    );
    assert_eq!(cells[0].config.model.name(), "transformer");
    assert_eq!((cells[0].config.init.gamma, cells[0].config.seed), (0.5, 1));
    assert_eq!(
        cells[0].config.init.rule,
        Some(InitRule::FanIn),
        "a variant's model resolves its own defaults"
    );
    assert_eq!(cells[2].config.model.name(), "mamba2");
    assert_eq!(cells[3].config.init.gamma, 1.0);
    write("variants.\"bad name\" = {}");
    let err = msym_config::expand(&f, &[]).unwrap_err().to_string();
    assert!(err.contains("a variant name may hold only letters"), "{err}");
    write("variants.a = {}\nvariants.b = { \"init.gamma\" = 1.0 }");
    let err = msym_config::expand(&f, &[]).unwrap_err().to_string();
    assert!(err.contains("two cells resolve to the same config"), "{err}");
    write("variants.a = { \"model.d_modle\" = 4 }");
    let err = msym_config::expand(&f, &[]).unwrap_err().to_string();
    assert!(err.contains("unknown field `d_modle`"), "{err}");
}

#[test]
fn every_figure_has_a_config_and_a_quick_one_whose_every_cell_resolves() {
    let dir = repo().join("configs");
    for figure in msym_config::FIGURES {
        for name in [figure.to_string(), format!("{figure}_quick")] {
            let f = dir.join(format!("{name}.toml"));
            assert!(f.is_file(), "configs/{name}.toml is missing");
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                text.starts_with('#'),
                "configs/{name}.toml opens with a comment naming the figure"
            );
            if !name.ends_with("_quick") {
                assert!(
                    text.contains("silent"),
                    "configs/{name}.toml states the defaults where the paper is silent"
                );
            }
        }
    }
    for f in toml_files(&dir) {
        let cells = msym_config::expand(&f, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(!cells.is_empty());
        let stem = f.file_stem().unwrap().to_str().unwrap();
        if let Some(figure) = &cells[0].config.figure {
            assert!(stem.starts_with(figure.as_str()), "{stem} says figure = {figure}");
        }
        if stem.ends_with("_quick") {
            let c = &cells[0].config;
            assert!(
                c.train.epochs <= 6 && c.task.n_samples() <= 6000 && cells.len() <= 12,
                "{stem} must stay CPU-sized"
            );
        }
    }
    let fig3 = msym_config::expand(&dir.join("fig3.toml"), &[]).unwrap();
    assert_eq!(fig3.len(), 6 * 12 * 3, "SPEC 4: depth 2..7 x 12 gammas x 3 seeds");
    let fig7 = msym_config::expand(&dir.join("fig7.toml"), &[]).unwrap();
    let kinds: Vec<&str> = fig7.iter().map(|c| c.config.model.name()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "transformer").count(), 3);
    let depth = msym_config::expand(&dir.join("fig7_depth.toml"), &[]).unwrap();
    for c in &depth {
        let anchor_data::TaskConfig::InverseMatching(t) = &c.config.task else {
            panic!()
        };
        assert_eq!(t.filler_len, 3 * c.config.model.depth(), "fillers follow the depth");
    }
}
