module techshop.local/real-node

go 1.24
