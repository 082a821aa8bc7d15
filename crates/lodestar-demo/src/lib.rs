//! `lodestar-demo`: writes realistic, deterministic demo workbooks for the fictional company 北辰轮胎.
