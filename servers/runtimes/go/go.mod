module cmbench.invalid/runtimes

go 1.19
