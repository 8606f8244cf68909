// Package bufpool recycles byte buffers by power-of-two capacity class.
//
// sluice allocates the same short-lived buffers over and over: one per
// fetched object (thousands per task), and arrow-go's page buffers, one set
// per column per Parquet file. Allocating, zeroing and collecting them cost
// a third of what a run over many small objects allocated. A Pool keeps
// freed buffers in one sync.Pool per size class, so the garbage collector
// can still drop what is not reused.
package bufpool
